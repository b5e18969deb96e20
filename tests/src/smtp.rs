//! An in-process SMTP server that accepts everything: the real SMTP
//! conversation lettre has with a mail server, with the messages kept for tests.
//! It can be stopped and started again on the same port (an SMTP outage in a
//! chaos run), and it logs when each message was accepted.

use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// One accepted message: when the sink answered `250`, and its raw text.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    pub raw: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    server: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp sink");
        let port = listener.local_addr().expect("addr").port();
        let sink = Self {
            port,
            messages: Arc::new(Mutex::new(Vec::new())),
            server: Arc::new(Mutex::new(None)),
        };
        sink.serve(listener);
        sink
    }

    fn serve(&self, listener: TcpListener) {
        let store = self.messages.clone();
        let task = tokio::spawn(async move {
            // The conversations belong to the server: stopping it drops
            // them all, mid-conversation or not, as a crashed server would.
            let mut sessions = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                sessions.spawn(async move {
                    let _ = session(stream, store).await;
                });
                while sessions.try_join_next().is_some() {}
            }
        });
        if let Ok(mut server) = self.server.lock()
            && let Some(old) = server.replace(task)
        {
            old.abort();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops listening and drops every open conversation (an outage).
    pub fn stop(&self) {
        if let Ok(mut server) = self.server.lock()
            && let Some(task) = server.take()
        {
            task.abort();
        }
    }

    /// Listens again on the same port after `stop`.
    pub async fn start_again(&self) {
        self.stop();
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(err) => panic!("rebind the smtp sink on {}: {err}", self.port),
            }
        };
        self.serve(listener);
    }

    pub fn messages(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.raw).collect()
    }

    /// Every accepted message with the moment it was accepted.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 sink.test ESMTP test sink\r\n")
        .await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if command.starts_with("DATA") {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            // Accepted means kept: the message is stored before the `250`
            // goes out, as a real server queues it before answering.
            if let Ok(mut messages) = store.lock() {
                messages.push(Received {
                    at: Instant::now(),
                    raw: data,
                });
            }
            write.write_all(b"250 queued\r\n").await?;
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            // HELO, MAIL FROM, RCPT TO, RSET, NOOP...
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}
