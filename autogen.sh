#!/bin/sh
# Regenerate the build system from configure.ac / Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf --install --force
