//! `rampart scan text`.

use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use rampart_moderate::TextModerator;
use rampart_types::{ErrorCode, Suggestion};

use crate::datadir::DataDir;
use crate::{FailOn, InputError};

/// Largest text accepted as one input (argument, whole stdin, or one `--jsonl` line).
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

#[derive(Args)]
pub struct TextArgs {
    /// The text, or `-` (the default) to read stdin.
    text: Option<String>,
    /// Read stdin line by line and print one verdict per line (constant memory).
    #[arg(long)]
    jsonl: bool,
    /// A TOML policy file (default: policy.toml in the data dir, else the built-in policy).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Exit 1 when any verdict reaches this level.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// Replace invalid UTF-8 with U+FFFD instead of refusing the input.
    #[arg(long)]
    lossy: bool,
    /// The caller's id for the content, copied into `content_ref.client_id`.
    #[arg(long)]
    client_id: Option<String>,
}

pub fn scan_text(data: &Path, args: TextArgs) -> Result<ExitCode> {
    let dir = DataDir::new(data);
    let policy = dir.policy(args.policy.as_deref())?;
    let moderator = TextModerator::new(dir.text_engine()?, policy);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut worst = Suggestion::Pass;
    let mut input_errors = 0usize;

    let from_stdin = matches!(args.text.as_deref(), None | Some("-"));
    if args.jsonl {
        if !from_stdin {
            return Err(InputError("--jsonl reads stdin: pass '-' or no text".into()).into());
        }
        let stdin = io::stdin();
        let mut reader = stdin.lock();
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            let read = read_line_capped(&mut reader, &mut line, MAX_INPUT_BYTES)?;
            let LineRead::Line { truncated } = read else {
                break;
            };
            number += 1;
            if truncated {
                input_errors += 1;
                let why = format!("the line is longer than {MAX_INPUT_BYTES} bytes");
                let code = ErrorCode::PayloadTooLarge;
                if !report_failure(&mut out, Input::Line(number), code, &why)? {
                    return Ok(ExitCode::from(2));
                }
                continue;
            }
            let text = match decode(&line, args.lossy) {
                Ok(text) => text,
                Err(reason) => {
                    input_errors += 1;
                    let code = ErrorCode::InvalidRequest;
                    if !report_failure(&mut out, Input::Line(number), code, &reason)? {
                        return Ok(ExitCode::from(2));
                    }
                    continue;
                }
            };
            let verdict = moderator.verdict(&text, args.client_id.clone());
            worst = worst.max(verdict.suggestion);
            if !write_json(&mut out, &verdict)? {
                return Ok(stop_exit(input_errors, worst, args.fail_on));
            }
        }
    } else {
        let text = match args.text {
            Some(text) if text != "-" => text,
            _ => {
                let mut bytes = Vec::new();
                io::stdin()
                    .lock()
                    .take(MAX_INPUT_BYTES as u64 + 1)
                    .read_to_end(&mut bytes)?;
                if bytes.len() > MAX_INPUT_BYTES {
                    return Err(InputError(format!(
                        "{}: input is larger than {MAX_INPUT_BYTES} bytes",
                        ErrorCode::PayloadTooLarge
                    ))
                    .into());
                }
                // Owned decode: a 50 MB input is held once, not copied.
                match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(e) if args.lossy => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    Err(e) => {
                        let why = utf8_error(e.utf8_error());
                        return Err(
                            InputError(format!("{}: {why}", ErrorCode::InvalidRequest)).into()
                        );
                    }
                }
            }
        };
        let verdict = moderator.verdict(&text, args.client_id.clone());
        worst = verdict.suggestion;
        write_json(&mut out, &verdict)?;
    }
    out.flush().ok();
    if input_errors > 0 {
        eprintln!("rampart: {input_errors} input line(s) were refused (see the error lines in the output)");
        return Ok(ExitCode::from(2));
    }
    Ok(crate::exit_for(worst, args.fail_on))
}

/// The exit code when stdout was closed early: what was seen so far decides.
pub(crate) fn stop_exit(failures: usize, worst: Suggestion, fail_on: Option<FailOn>) -> ExitCode {
    if failures > 0 {
        ExitCode::from(2)
    } else {
        crate::exit_for(worst, fail_on)
    }
}

/// UTF-8 text from bytes; invalid UTF-8 is refused with its byte offset unless `lossy`.
fn decode(bytes: &[u8], lossy: bool) -> std::result::Result<std::borrow::Cow<'_, str>, String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.into()),
        Err(_) if lossy => Ok(String::from_utf8_lossy(bytes)),
        Err(e) => Err(utf8_error(e)),
    }
}

fn utf8_error(e: std::str::Utf8Error) -> String {
    format!(
        "invalid UTF-8 at byte {} (use --lossy to replace it)",
        e.valid_up_to()
    )
}

enum LineRead {
    Line { truncated: bool },
    Eof,
}

/// Reads one line (without its `\n` or `\r\n`) into `line`, keeping at most `cap` bytes: the rest
/// of a longer line is read and dropped, so memory stays bounded whatever the input.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
) -> io::Result<LineRead> {
    line.clear();
    let mut truncated = false;
    let mut any = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        any = true;
        let (chunk, consumed, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if line.len() + chunk.len() > cap {
            truncated = true;
            line.clear();
        } else if !truncated {
            line.extend_from_slice(chunk);
        }
        reader.consume(consumed);
        if done {
            break;
        }
    }
    if !any {
        return Ok(LineRead::Eof);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(LineRead::Line { truncated })
}

/// Writes one JSON value and a newline; returns false when stdout was closed (broken pipe).
pub(crate) fn write_json(out: &mut impl Write, value: &impl serde::Serialize) -> Result<bool> {
    let result = serde_json::to_writer(&mut *out, value)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"));
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The input a failure is about: a file, or a line of `--jsonl` input.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    File(&'a Path),
    Line(usize),
}

/// Reports an input that got no verdict: one line on stderr, `rampart: CODE: FILE: why` (or
/// `line N`), and one JSON line in the output in place of its verdict,
/// `{"file": …, "error": {"code", "message"}}` (or `"line": N`), so the output keeps one line
/// per input. Returns false when stdout was closed.
pub(crate) fn report_failure(
    out: &mut impl Write,
    input: Input<'_>,
    code: ErrorCode,
    message: &str,
) -> Result<bool> {
    let (file, line) = match input {
        Input::File(file) => {
            eprintln!("rampart: {code}: {}: {message}", file.display());
            (Some(file.display().to_string()), None)
        }
        Input::Line(number) => {
            eprintln!("rampart: {code}: line {number}: {message}");
            (None, Some(number))
        }
    };
    let error = ErrorBody { code, message };
    write_json(out, &ErrorLine { file, line, error })
}

/// Judges files one by one with `judge` and prints one line per file, in order, as soon as it
/// is done (the next may take minutes): its verdict with `file`, or its error line (also on
/// stderr). A failed file does not stop the others; the exit is 2 when any failed, else by
/// `fail_on`. Stops early, with the exit so far, when stdout is closed.
pub(crate) fn judge_files(
    files: &[PathBuf],
    fail_on: Option<FailOn>,
    mut judge: impl FnMut(&Path) -> std::result::Result<rampart_types::Verdict, (ErrorCode, String)>,
) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut worst = Suggestion::Pass;
    let mut failures = 0;
    for file in files {
        let written = match judge(file) {
            Ok(verdict) => {
                worst = worst.max(verdict.suggestion);
                let file = file.display().to_string();
                write_json(
                    &mut out,
                    &FileVerdict {
                        file,
                        verdict: &verdict,
                    },
                )?
            }
            Err((code, message)) => {
                failures += 1;
                report_failure(&mut out, Input::File(file), code, &message)?
            }
        };
        out.flush().ok();
        if !written {
            return Ok(stop_exit(failures, worst, fail_on));
        }
    }
    if failures > 0 {
        eprintln!("rampart: {failures} file(s) could not be moderated (see the error lines)");
        return Ok(ExitCode::from(2));
    }
    Ok(crate::exit_for(worst, fail_on))
}

/// The output line of an input that got no verdict (fields in this order).
#[derive(serde::Serialize)]
struct ErrorLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    error: ErrorBody<'a>,
}

/// The error shape of the HTTP API: a stable code and a message.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    code: ErrorCode,
    message: &'a str,
}

/// A verdict on a file as the CLI prints it: the verdict's fields (docs/API.md) with the
/// file's path, as given, in `file` first.
#[derive(serde::Serialize)]
pub(crate) struct FileVerdict<'a> {
    pub file: String,
    #[serde(flatten)]
    pub verdict: &'a rampart_types::Verdict,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_dropped_not_buffered() {
        let input = format!("short\n{}\nafter\r\n", "x".repeat(100));
        let mut reader = io::BufReader::with_capacity(8, input.as_bytes());
        let mut line = Vec::new();
        let mut seen = Vec::new();
        while let LineRead::Line { truncated } =
            read_line_capped(&mut reader, &mut line, 10).unwrap()
        {
            seen.push((String::from_utf8(line.clone()).unwrap(), truncated));
        }
        assert_eq!(
            seen,
            vec![
                ("short".into(), false),
                (String::new(), true),
                ("after".into(), false)
            ]
        );
    }

    #[test]
    fn invalid_utf8_reports_the_byte_offset() {
        let err = decode(b"abc \xff def", false).unwrap_err();
        assert!(err.contains("byte 4"), "{err}");
        assert_eq!(decode(b"abc \xff", true).unwrap(), "abc \u{FFFD}");
    }
}
