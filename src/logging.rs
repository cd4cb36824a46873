//! The log's writer: each line is handed to one thread that writes it to standard error, at once when the thread
//! is idle, else with the other lines that came within 10 ms, so that an HTTP worker never waits for the file or pipe behind standard error, nor for
//! another worker holding its lock while it writes (one access line a request: with the workers writing themselves,
//! two workers contended for that lock on most requests).
//!
//! The queue is bounded: when standard error takes nothing (a pipe nobody reads), the workers wait, as they would
//! writing to it themselves, and no memory grows. Lines are in the order they were logged.

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::OnceLock;

/// Lines waiting for the writer, at most: the writer takes them every 10 ms, so this is 400,000 lines a second
/// before a worker waits, several times what the gateway serves on a small machine. The queue's slots are made
/// when it is (40 bytes each, resident for the life of the process).
const QUEUED_LINES: usize = 4_096;

/// Bytes written at once, at most: a burst is written in pieces of this size.
const BATCH_BYTES: usize = 64 * 1024;

/// How long the writer gathers lines after writing some, before it writes again: under load a write each 10 ms,
/// not one a request; a line waits no longer than this (and a flush, for the lines before it).
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

enum Message {
    Line(Vec<u8>),
    /// Answered once every line sent before it is written.
    Flush(SyncSender<()>),
}

/// Hands lines to the writer thread.
#[derive(Clone)]
pub struct Queue(SyncSender<Message>);

impl Queue {
    /// A writer thread writing to `sink`, and the queue to it. The thread ends when every queue is dropped.
    pub fn spawn<W: Write + Send + 'static>(sink: W) -> io::Result<Queue> {
        let (tx, rx) = sync_channel(QUEUED_LINES);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(rx, sink))?;
        Ok(Queue(tx))
    }

    /// Waits until every line queued so far is written.
    pub fn wait_until_written(&self) {
        let (ack, done) = sync_channel(1);
        if self.0.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }
}

impl Write for Queue {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(Message::Line(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the log writer has stopped"))?;
        Ok(buf.len())
    }

    /// The logger flushes after every line; the writer thread writes each line as soon as it can, so this does not
    /// wait (see [`Queue::wait_until_written`]).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_lines<W: Write>(rx: Receiver<Message>, mut sink: W) {
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    let mut acks = Vec::new();
    // Waits for a line when none is queued, and writes it at once; the lines that come after it are gathered for
    // `GATHER` and written together, until none came. While the thread gathers, loggers queue their lines without
    // waking it.
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        loop {
            let mut full = false;
            while let Some(message) = next.take() {
                match message {
                    Message::Line(line) => batch.extend_from_slice(&line),
                    Message::Flush(ack) => acks.push(ack),
                }
                full = batch.len() >= BATCH_BYTES;
                if full {
                    break;
                }
                next = rx.try_recv().ok();
            }
            // A log that cannot be written is not a reason to stop serving: the lines are dropped.
            let _ = sink.write_all(&batch).and_then(|()| sink.flush());
            let wrote = !batch.is_empty();
            batch.clear();
            if batch.capacity() > 4 * BATCH_BYTES {
                batch.shrink_to(BATCH_BYTES);
            }
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            if !wrote {
                break;
            }
            // More lines than one write takes are waiting: no pause.
            if !full {
                std::thread::sleep(GATHER);
            }
            next = rx.try_recv().ok();
            if next.is_none() {
                break;
            }
        }
    }
}

static QUEUE: OnceLock<Queue> = OnceLock::new();

thread_local! {
    /// The line being written, and the timestamp of the second it was last written in.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static STAMP: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

/// Writes one record to `out` (see [`write_line`]), in a buffer of the thread's.
fn format(out: &mut dyn Write, record: &log::Record<'_>) -> io::Result<()> {
    LINE.with(|kept| {
        // A record logged while another is formatted on this thread (by a `Display` that logs) gets its own.
        let (mut kept, mut own) = (kept.try_borrow_mut().ok(), Vec::new());
        let line = kept.as_deref_mut().unwrap_or(&mut own);
        line.clear();
        write_line(line, record);
        out.write_all(line)
    })
}

/// One record as env_logger's default format writes it (`[2026-12-07T07:35:58Z INFO  target] message`, the lines
/// of a message after its first indented by four spaces), its timestamp made once a second by each thread.
fn write_line(line: &mut Vec<u8>, record: &log::Record<'_>) {
    let now = std::time::SystemTime::now();
    let second = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    STAMP.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            text.clear();
            text.push_str(&humantime::format_rfc3339_seconds(now).to_string());
        }
        line.push(b'[');
        line.extend_from_slice(text.as_bytes());
    });
    let _ = write!(line, " {:<5}", record.level());
    if !record.target().is_empty() {
        line.push(b' ');
        line.extend_from_slice(record.target().as_bytes());
    }
    line.extend_from_slice(b"] ");
    let start = line.len();
    let _ = write!(line, "{}", record.args());
    if line[start..].contains(&b'\n') {
        let message = line.split_off(start);
        for (i, part) in message.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                line.extend_from_slice(b"\n    ");
            }
            line.extend_from_slice(part);
        }
    }
    line.push(b'\n');
}

/// Sets up the process's logger: `RUST_LOG` (default `info`) as env_logger reads it, plain text (no colours: no
/// escape codes to strip from each line), lines written by the writer thread. Falls back to writing directly when the
/// thread cannot be started.
pub fn init() {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.format(|out, record| format(out, record));
    if let Ok(queue) = Queue::spawn(io::stderr()) {
        builder.target(env_logger::Target::Pipe(Box::new(queue.clone())));
        let _ = QUEUE.set(queue);
    }
    builder.init();
}

/// Waits until every line logged so far is written: before the process ends, or writes to standard error itself.
pub fn flush() {
    if let Some(queue) = QUEUE.get() {
        queue.wait_until_written();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<u8>>>);

    impl Write for Collect {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_record_is_written_as_env_logger_s_default_format_writes_it() {
        let record = |args: std::fmt::Arguments<'_>, line: &mut Vec<u8>| {
            write_line(
                line,
                &log::Record::builder()
                    .args(args)
                    .level(log::Level::Info)
                    .target("lotus_rest::access")
                    .build(),
            )
        };
        let mut line = Vec::new();
        record(format_args!("GET /v1/chain/head 200 {}us", 12), &mut line);
        let text = String::from_utf8(line.clone()).unwrap();
        // `[2026-12-07T07:35:58Z INFO  lotus_rest::access] GET /v1/chain/head 200 12us`
        let (stamp, rest) = text.split_once(' ').unwrap();
        assert_eq!(stamp.len(), "[2026-12-07T07:35:58Z".len(), "{text}");
        assert!(humantime::parse_rfc3339(&stamp[1..]).is_ok(), "{text}");
        assert_eq!(
            rest,
            "INFO  lotus_rest::access] GET /v1/chain/head 200 12us\n"
        );
        line.clear();
        record(format_args!("two\nlines"), &mut line);
        assert!(line.ends_with(b"lotus_rest::access] two\n    lines\n"));
    }

    #[test]
    fn a_record_logged_while_another_is_formatted_is_written_too() {
        struct Logs;
        impl std::fmt::Display for Logs {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut inner = Vec::new();
                format(
                    &mut inner,
                    &log::Record::builder()
                        .args(format_args!("inner"))
                        .target("t")
                        .build(),
                )
                .map_err(|_| std::fmt::Error)?;
                f.write_str(std::str::from_utf8(&inner).unwrap().trim_end())
            }
        }
        let mut out = Vec::new();
        format(
            &mut out,
            &log::Record::builder()
                .args(format_args!("outer {}", Logs))
                .target("t")
                .build(),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("t] outer [") && text.ends_with("t] inner\n"),
            "{text}"
        );
    }

    #[test]
    fn every_line_is_written_in_the_order_each_thread_logged_it() {
        let sink = Collect::default();
        let queue = Queue::spawn(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut queue = queue.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        queue.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                        queue.flush().unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        queue.wait_until_written();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let mut next = [0u32; 4];
        for line in text.lines() {
            let (t, i) = line.split_once(' ').unwrap();
            let (t, i): (usize, u32) = (t.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[t], "thread {t}'s lines out of order");
            next[t] += 1;
        }
        assert_eq!(next, [20_000; 4]);
    }
}
