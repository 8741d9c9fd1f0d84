-- wrk: every request is a POST carrying a 1 MiB body.
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
