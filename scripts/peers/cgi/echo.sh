#!/bin/sh
# CGI script for fcgiwrap: prints a few request variables, and when a body
# comes (CONTENT_LENGTH set), reads all of it and prints its sha256.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'method=%s\nquery=%s\nscript=%s\nlength=%s\n' "$REQUEST_METHOD" "$QUERY_STRING" "$SCRIPT_NAME" "${CONTENT_LENGTH:-}"
if [ -n "${CONTENT_LENGTH:-}" ]; then
    printf 'body_sha256=%s\n' "$(head -c "$CONTENT_LENGTH" | sha256sum | cut -d' ' -f1)"
fi
