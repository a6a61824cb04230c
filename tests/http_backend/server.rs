//! A small HTTP/1.1 server on 127.0.0.1 (port 0) for the HTTP backend's
//! tests: each request gets the next scripted answer (the last one
//! repeats), and every request is kept so tests can look at what arrived.
//! Hand-written on std's TCP so answers can hang, stream without end or be
//! malformed on purpose.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A response with a status, extra headers and a body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Never answers (keeps the connection open until the server stops).
    Hang,
    /// A 200 whose body never ends.
    Endless,
}

impl Answer {
    /// `status` with `body` and no extra header.
    pub fn status(status: u16, body: &str) -> Answer {
        Answer::Respond {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// A 200 with a success reply carrying `outputs` (a JSON object).
    pub fn success(outputs: &str) -> Answer {
        Answer::status(
            200,
            &format!(r#"{{"status":"success","outputs":{outputs}}}"#),
        )
    }

    /// `status` with one extra header.
    pub fn with_header(status: u16, name: &str, value: &str) -> Answer {
        Answer::Respond {
            status,
            headers: vec![(name.to_string(), value.to_string())],
            body: String::new(),
        }
    }
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// `POST /path HTTP/1.1`.
    pub line: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Received {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the request body is JSON")
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    arrived: Condvar,
    stop: AtomicBool,
}

/// A running server; it stops when dropped.
pub struct Server {
    port: u16,
    shared: Arc<Shared>,
}

impl Server {
    /// Starts a server answering with `answers` in turn.
    pub fn start(answers: Vec<Answer>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("address").port();
        let shared = Arc::new(Shared::default());
        let answers = Arc::new(Mutex::new((answers, 0usize)));
        let state = shared.clone();
        // Blocking accepts; dropping the server wakes the last one with a
        // connection of its own (see `Drop`).
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if state.stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    let (state, answers) = (state.clone(), answers.clone());
                    std::thread::spawn(move || serve(stream, &state, &answers));
                }
            }
        });
        Server { port, shared }
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Waits until `n` requests arrived (failing after `cap`).
    pub fn wait_for(&self, n: usize, cap: Duration) -> Vec<Received> {
        let start = Instant::now();
        let mut received = self.shared.received.lock().expect("lock");
        while received.len() < n {
            let left = cap
                .checked_sub(start.elapsed())
                .unwrap_or_else(|| panic!("{} request(s) arrived, not {n}", received.len()));
            received = self
                .shared
                .arrived
                .wait_timeout(received, left)
                .expect("wait")
                .0;
        }
        received.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, shared: &Shared, answers: &Mutex<(Vec<Answer>, usize)>) {
    let Some(received) = read_request(&stream) else {
        return;
    };
    let answer = {
        let mut guard = answers.lock().expect("lock");
        let (list, next) = &mut *guard;
        let i = (*next).min(list.len().saturating_sub(1));
        *next += 1;
        list.get(i).cloned().unwrap_or(Answer::Hang)
    };
    {
        shared.received.lock().expect("lock").push(received);
        shared.arrived.notify_all();
    }
    let mut stream = stream;
    match answer {
        Answer::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
        Answer::Hang => {
            // Until the client hangs up: it does at its timeout.
            let mut byte = [0u8; 1];
            while matches!(stream.read(&mut byte), Ok(n) if n > 0) {}
        }
        Answer::Endless => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            );
            let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
            // Until the client hangs up (or the server stops).
            while !shared.stop.load(Ordering::Relaxed) {
                if stream.write_all(chunk.as_bytes()).is_err() {
                    break;
                }
            }
        }
    }
    let _ = stream.flush();
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        line: line.trim_end().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Other",
    }
}
