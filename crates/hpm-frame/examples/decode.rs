//! Decodes an HPM-100A byte stream (a capture, a `watt.txt` log's frames, or a
//! serial port's output piped in) from stdin into CSV on stdout, and prints the
//! decoder's counters on stderr:
//!
//! ```text
//! cargo run -p hpm-frame --example decode < stream.bin
//! ```
use std::io::{self, Write};
use std::process::ExitCode;

use hpm_frame::{FrameReader, RecordWriter, output::Format};

fn decode() -> io::Result<()> {
    let stdout = io::stdout().lock();
    let mut out = RecordWriter::new(io::BufWriter::new(stdout), Format::Csv);
    out.write_header()?;
    let mut frames = FrameReader::new(io::stdin().lock());
    for frame in frames.by_ref() {
        // No reception time is known for bytes read from a pipe.
        out.write(None, &frame?)?;
    }
    out.flush()?;
    let stats = frames.decoder().stats();
    writeln!(io::stderr(), "decode: {stats:?}")
}

fn main() -> ExitCode {
    match decode() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("decode: {e}");
            ExitCode::FAILURE
        }
    }
}
