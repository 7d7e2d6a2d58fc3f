//! The terminal: asking for a line (a TOTP code), and progress bars on stderr for long work,
//! drawn only when stderr is a terminal so that pipes and files never see them.

use std::io::{BufRead, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

/// Prints `prompt` on stderr and reads one line of standard input; `None` when nothing was
/// typed (an empty line, or standard input closed).
pub fn ask(prompt: &str) -> anyhow::Result<Option<String>> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line)?;
    if !std::io::stdin().is_terminal() {
        // Nothing echoed the end of the line: end the prompt's line here.
        eprintln!();
    }
    let line = line.trim();
    Ok((read > 0 && !line.is_empty()).then(|| line.to_string()))
}

/// Is standard input a terminal (someone who can type again)?
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// A bar counting `len` items of `what` on stderr, or a hidden one when stderr is not a
/// terminal. Finish it with [`ProgressBar::finish_and_clear`].
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {human_pos}/{human_len} {elapsed}, about {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
