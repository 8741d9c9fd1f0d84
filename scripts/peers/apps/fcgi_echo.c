/* Minimal libfcgi responder: answers each request with a few of its params. */
#include <fcgiapp.h>
#include <stdio.h>

int main(void) {
    FCGX_Request req;
    FCGX_Init();
    FCGX_InitRequest(&req, 0, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        const char *m = FCGX_GetParam("REQUEST_METHOD", req.envp);
        const char *q = FCGX_GetParam("QUERY_STRING", req.envp);
        FCGX_FPrintF(req.out, "Content-Type: text/plain\r\n\r\nmethod=%s\nquery=%s\n",
                     m ? m : "", q ? q : "");
        FCGX_Finish_r(&req);
    }
    return 0;
}
