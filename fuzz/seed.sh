#!/usr/bin/env bash
# Fills corpus/<target>/ with the captured fixtures: raw for `validation` and
# `parser`; for
# `service` behind the two header bytes (POST + application/json, one frame;
# PUT + no content type, small receiver, 7-byte frames).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/validation corpus/parser corpus/service
for f in ../tests/fixtures/*.json; do
    name=$(basename "$f" .json)
    cp "$f" "corpus/validation/$name"
    cp "$f" "corpus/parser/$name"
    { printf '\000\000'; cat "$f"; } >"corpus/service/$name"
    { printf '\211\007'; cat "$f"; } >"corpus/service/$name-put-small"
done
