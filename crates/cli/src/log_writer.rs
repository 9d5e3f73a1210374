//! Where log lines go: stderr, in as few `write` calls as the load allows.
//!
//! A request writes four lines (access, START, END, REPORT), each a `write` to stderr. On the
//! async runtime's worker threads lines are appended to one process-wide buffer instead, and the
//! buffer is written when a worker is about to park (it has nothing else to do), when it holds
//! [`FLUSH_AT`] bytes, at the worker's exit and at the end of `main`. Idle, a line goes out as
//! soon as its task yields; under load, several requests' lines go out in one `write`. One
//! buffer, filled in the order lines are made, keeps their order (START, the function's lines,
//! END, REPORT) as it is. Other threads write at once, after what is buffered.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

/// Buffered bytes that make a write happen at once.
const FLUSH_AT: usize = 32 * 1024;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Held while the buffer's bytes are written, so two flushes cannot reorder them.
static WRITING: Mutex<()> = Mutex::new(());

thread_local! {
    static BUFFERED: Cell<bool> = const { Cell::new(false) };
}

/// Lines made on this thread are buffered from now on (for the runtime's worker threads).
pub fn buffer_this_thread() {
    BUFFERED.with(|b| b.set(true));
}

/// Writes what is buffered.
pub fn flush() {
    let _ = write_out(&[]);
}

/// Writes what is buffered, then `line`, in that order.
fn write_out(line: &[u8]) -> io::Result<()> {
    let _writing = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
    let pending = std::mem::take(&mut *BUFFER.lock().unwrap_or_else(PoisonError::into_inner));
    let mut err = io::stderr().lock();
    if !pending.is_empty() {
        err.write_all(&pending)?;
    }
    if !line.is_empty() {
        err.write_all(line)?;
    }
    Ok(())
}

/// The `MakeWriter` for the tracing layer.
pub struct Stderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line
    }
}

/// One formatted line (tracing writes each event with one `write_all`).
pub struct Line;

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if BUFFERED.with(Cell::get) {
            let full = {
                let mut b = BUFFER.lock().unwrap_or_else(PoisonError::into_inner);
                b.extend_from_slice(buf);
                b.len() >= FLUSH_AT
            };
            if full {
                flush();
            }
        } else {
            write_out(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_lines_keep_their_order_and_go_out_on_flush() {
        let before = BUFFER.lock().map(|b| b.len()).unwrap_or(0);
        std::thread::spawn(|| {
            buffer_this_thread();
            let mut w = Line;
            w.write_all(b"one\n").expect("write");
            w.write_all(b"two\n").expect("write");
        })
        .join()
        .expect("thread");
        let held = BUFFER.lock().map(|b| b.clone()).unwrap_or_default();
        assert!(held.len() >= before + 8);
        assert!(held.ends_with(b"one\ntwo\n"));
        flush();
        assert!(BUFFER.lock().map(|b| b.is_empty()).unwrap_or(false));
    }
}
