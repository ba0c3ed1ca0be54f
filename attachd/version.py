"""The version of attachd, as pbr reads it from git or the package metadata."""

import pbr.version

version_info = pbr.version.VersionInfo('attachd')
