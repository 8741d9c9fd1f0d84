//! The `modifier1` packet type as an open wire enum.

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub struct $name:ident(pub $repr:ty);
        $( $(#[$cmeta:meta])* $konst:ident = $value:expr => $label:literal, )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $konst: Self = Self($value); )*

            /// The registered name of this value, or `None` if it is not in
            /// the table.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($label), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({:#04x})", stringify!($name), self.0),
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

wire_enum! {
    /// The first header byte: what kind of packet this is.
    ///
    /// Open: every `u8` is a valid `Modifier1` and round-trips, named or not.
    /// The constants cover the table of uWSGI's `Protocol.rst` and the values
    /// its plugins register.
    ///
    /// ```
    /// use uwsgi_proto::Modifier1;
    /// assert_eq!(Modifier1::from(100), Modifier1::PING);
    /// assert_eq!(Modifier1::PING.name(), Some("ping"));
    /// assert_eq!(Modifier1(42).name(), None);
    /// assert_eq!(u8::from(Modifier1(42)), 42);
    /// ```
    pub struct Modifier1(pub u8);
    /// 0: WSGI (Python) request: vars, then the body.
    WSGI = 0 => "wsgi",
    /// 5: PSGI (Perl) request.
    PSGI = 5 => "psgi",
    /// 6: Lua WSAPI request.
    LUA = 6 => "lua",
    /// 7: Rack (Ruby) request.
    RACK = 7 => "rack",
    /// 8: JVM request (JWSGI, Ring).
    JVM = 8 => "jvm",
    /// 9: CGI request.
    CGI = 9 => "cgi",
    /// 10: management flag (modifier2 is the flag).
    MANAGE = 10 => "manage",
    /// 11: GCCGO request.
    GCCGO = 11 => "gccgo",
    /// 14: PHP request.
    PHP = 14 => "php",
    /// 15: Mono ASP.NET request.
    MONO = 15 => "mono",
    /// 17: spooler enqueue (payload: a dict).
    SPOOLER = 17 => "spooler",
    /// 18: symcall (direct C symbol call).
    SYMCALL = 18 => "symcall",
    /// 19: SSI request.
    SSI = 19 => "ssi",
    /// 22: raw code evaluation (payload: code; modifier2 picks the interpreter).
    EVAL = 22 => "eval",
    /// 23: XSLT request.
    XSLT = 23 => "xslt",
    /// 24: V8 request.
    V8 = 24 => "v8",
    /// 25: GridFS request.
    GRIDFS = 25 => "gridfs",
    /// 26: FastFuncs (uWSGI's code; its docs say GlusterFS).
    FASTFUNC = 26 => "fastfunc",
    /// 27: GlusterFS (uWSGI's glusterfs plugin).
    GLUSTERFS = 27 => "glusterfs",
    /// 28: Rados.
    RADOS = 28 => "rados",
    /// 30: WSGI with `SCRIPT_NAME` stripped from `PATH_INFO` (deprecated).
    WSGI_STRIP_SCRIPT_NAME = 30 => "wsgi-strip-script-name",
    /// 31: message passing (reserved).
    MESSAGE = 31 => "message",
    /// 32: char array message (reserved).
    MESSAGE_ARRAY = 32 => "message-array",
    /// 33: marshalled message (reserved).
    MESSAGE_MARSHAL = 33 => "message-marshal",
    /// 35: WebDAV request.
    WEBDAV = 35 => "webdav",
    /// 48: SNMP (UDP).
    SNMP = 48 => "snmp",
    /// 72 (`'H'`): the first byte of a raw `HTTP/…` response.
    RAW_HTTP = 72 => "raw-http",
    /// 73: multicast announce.
    MULTICAST_ANNOUNCE = 73 => "multicast-announce",
    /// 74: multicast message.
    MULTICAST = 74 => "multicast",
    /// 95: cluster membership.
    CLUSTER = 95 => "cluster",
    /// 96: remote logging.
    REMOTE_LOGGING = 96 => "remote-logging",
    /// 97: brutal reload.
    RELOAD_BRUTAL = 97 => "reload-brutal",
    /// 98: graceful reload.
    RELOAD_GRACEFUL = 98 => "reload-graceful",
    /// 99: configuration request.
    CONFIG = 99 => "config",
    /// 100: ping (modifier2 0) and pong (modifier2 1).
    PING = 100 => "ping",
    /// 101: echo.
    ECHO = 101 => "echo",
    /// 109: Legion (UDP).
    LEGION = 109 => "legion",
    /// 110: uwsgi signal (modifier2 is the signal number).
    SIGNAL = 110 => "signal",
    /// 111: cache operation.
    CACHE = 111 => "cache",
    /// 115: Emperor pushes a config to a vassal.
    EMPEROR = 115 => "emperor",
    /// 123: corerouter special conditions.
    COREROUTER = 123 => "corerouter",
    /// 173: RPC (payload: a uwsgi array).
    RPC = 173 => "rpc",
    /// 200: close mark for persistent connections.
    CLOSE = 200 => "close",
    /// 224: subscription (payload: a dict).
    SUBSCRIPTION = 224 => "subscription",
    /// 250: example / C++ plugin.
    EXAMPLE = 250 => "example",
    /// 255: generic response (modifier2 is the result).
    RESPONSE = 255 => "response",
}

impl Modifier1 {
    /// Whether packets of this type are application requests: the payload is
    /// a vars block and a body of `CONTENT_LENGTH` bytes follows the packet.
    pub const fn is_request(self) -> bool {
        matches!(
            self.0,
            0 | 5 | 6 | 7 | 8 | 9 | 11 | 14 | 15 | 18 | 19 | 23 | 24 | 25 | 30 | 35
        )
    }
}

impl Default for Modifier1 {
    fn default() -> Self {
        Self::WSGI
    }
}
