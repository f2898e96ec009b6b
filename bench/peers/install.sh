#!/usr/bin/env bash
# Installs the Debian packages the benchmark needs (idempotent): nginx (light build), the nchan
# module, Pushpin (with condure and zurl) and wrk. Start scripts call the same check themselves.
source "$(dirname "$0")/lib.sh"
ensure_packages nginx-light libnginx-mod-nchan pushpin wrk
for p in nginx-light libnginx-mod-nchan pushpin wrk; do
  printf '%s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p")"
done
