#!/usr/bin/env bash
# Stops every peer started by the scripts in this folder (by their pid files only).
source "$(dirname "$0")/lib.sh"
for s in nchan pushpin nginx-proxy upstream; do bash "$(dirname "$0")/$s.sh" stop; done
