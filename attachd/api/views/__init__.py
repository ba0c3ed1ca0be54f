"""Views: objects to Cinder's JSON shapes."""
