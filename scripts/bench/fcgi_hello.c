/* Minimal libfcgi responder for the end-to-end benchmark: reads and drops the
 * request body, answers 200 text/plain "hello\n". Each process serves one
 * connection at a time (libfcgi honours KEEP_CONN, so a kept connection holds
 * its process until the web server closes it); PROCS processes share the
 * listening socket, as spawn-fcgi -F would run them.
 * usage: fcgi_hello HOST:PORT [BACKLOG [PROCS]] */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char reply[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";

int main(int argc, char **argv) {
    static char drop[65536];
    FCGX_Request req;
    int fd, procs, i;
    if (argc < 2) {
        fprintf(stderr, "usage: fcgi_hello HOST:PORT [BACKLOG [PROCS]]\n");
        return 2;
    }
    if (FCGX_Init() != 0) return 1;
    fd = FCGX_OpenSocket(argv[1], argc > 2 ? atoi(argv[2]) : 1024);
    if (fd < 0) {
        fprintf(stderr, "fcgi_hello: cannot listen on %s\n", argv[1]);
        return 1;
    }
    printf("listening fcgi://%s\n", argv[1]);
    fflush(stdout);
    procs = argc > 3 ? atoi(argv[3]) : 1;
    for (i = 1; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) break;
    }
    if (FCGX_InitRequest(&req, fd, 0) != 0) return 1;
    while (FCGX_Accept_r(&req) >= 0) {
        while (FCGX_GetStr(drop, sizeof drop, req.in) > 0) {
        }
        FCGX_PutStr(reply, sizeof reply - 1, req.out);
        FCGX_Finish_r(&req);
    }
    return 0;
}
