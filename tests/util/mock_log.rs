//! An httpmock server that keeps a log of the requests it received, for failure messages.
//!
//! httpmock 0.9 keeps a request history but does not hand it out (the `record` feature saves
//! recordings through its proxy, not a list); what it does offer is custom matchers
//! (`When::is_true`). So the first mock on the server is a recorder whose matcher notes each
//! request and never matches: mocks are tried in the order they were made, so the recorder
//! sees every request, and the mocks the test makes answer and count exactly as without it.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use httpmock::MockServer;

/// A `MockServer` (through `Deref`) that logs every request it receives.
pub struct LoggedMockServer {
    server: MockServer,
    log: Arc<Mutex<Vec<String>>>,
}

impl LoggedMockServer {
    /// Starts the server and its recorder, before any other mock.
    pub fn start() -> LoggedMockServer {
        let server = MockServer::start();
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorder = Arc::clone(&log);
        server.mock(|when, then| {
            when.is_true(move |request| {
                let range = request
                    .headers_vec()
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case("range"))
                    .map(|(_, value)| value.as_str())
                    .collect::<Vec<_>>();
                recorder.lock().unwrap().push(format!(
                    "{} {} range={range:?}",
                    request.method_str(),
                    request.uri_str()
                ));
                false
            });
            then.status(500);
        });
        LoggedMockServer { server, log }
    }

    /// The requests received so far, one a line: `GET /file.bin range=["bytes=0-99"]`.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Deref for LoggedMockServer {
    type Target = MockServer;

    fn deref(&self) -> &MockServer {
        &self.server
    }
}

impl super::command::RequestLog for LoggedMockServer {
    fn request_log(&self) -> String {
        self.log()
    }
}
