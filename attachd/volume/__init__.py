"""What the APIs ask of volumes beyond reading them: the attach state machine
(:mod:`attachd.volume.attach`, and the pre-3.27 flows over it in
:mod:`attachd.volume.legacy`), the volume life cycle (:mod:`attachd.volume.lifecycle`) and
the process's clients of the manager and the notification bus
(:mod:`attachd.volume.clients`).

Nothing here knows HTTP: the API's handlers call these functions with a context and
objects, and turn what they return or raise into responses.
"""
