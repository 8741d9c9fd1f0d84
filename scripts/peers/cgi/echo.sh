#!/bin/sh
# CGI script for fcgiwrap: prints a few request variables.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'method=%s\nquery=%s\nscript=%s\nlength=%s\n' "$REQUEST_METHOD" "$QUERY_STRING" "$SCRIPT_NAME" "${CONTENT_LENGTH:-}"
