//! What the commands tell the user, kept apart from what they do: the commands call
//! a [`Ui`]; the terminal prints (colored on a TTY, plain otherwise, nothing but
//! the final JSON with `--json`), tests record.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;

use crate::changeset::ResourceChange;
use crate::events::EventLine;

pub trait Ui: Send {
    /// A step of the command ("uploading 2 artifacts", "no changes").
    fn step(&mut self, message: &str);
    /// A stack event, as it arrives.
    fn event(&mut self, event: &EventLine);
    /// The planned changes.
    fn changes(&mut self, changes: &[ResourceChange]);
    /// Asks before something risky; `Ok(false)` means the user said no.
    fn confirm(&mut self, question: &str) -> Result<bool>;
    /// Asks before destroying state; unlike [`Ui::confirm`], `--yes` does not answer it
    /// (`Ok(false)`: refused): only a person at a terminal can, or a flag naming what.
    fn confirm_by_name(&mut self, question: &str) -> Result<bool>;
    /// Asks for `expected` to be typed (the stage's name before its data is purged);
    /// `Ok(false)` when something else was typed. Fails where no one can type.
    fn type_to_confirm(&mut self, question: &str, expected: &str) -> Result<bool>;
    /// Uploads of `count` objects totalling `bytes` start.
    fn uploads_started(&mut self, _count: usize, _bytes: u64) {}
    fn uploaded(&mut self, _key: &str, _bytes: u64) {}
    fn uploads_finished(&mut self) {}
}

/// How the terminal UI behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalOptions {
    pub quiet: bool,
    pub json: bool,
    /// `--yes`: confirmations are answered yes without asking.
    pub yes: bool,
}

pub struct Terminal {
    options: TerminalOptions,
    color: bool,
    interactive: bool,
    bar: Option<ProgressBar>,
}

impl Terminal {
    pub fn new(options: TerminalOptions) -> Self {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Self { options, color, interactive, bar: None }
    }

    fn silent(&self) -> bool {
        self.options.quiet || self.options.json
    }

    /// Prints `prompt` and reads one answer line, trimmed.
    fn ask(&self, prompt: &str) -> Result<String> {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{prompt}");
        let _ = err.flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim().to_owned())
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }
}

impl Ui for Terminal {
    fn step(&mut self, message: &str) {
        if !self.silent() {
            let arrow = if self.color { "==>".bold().to_string() } else { "==>".to_owned() };
            self.line(&format!("{arrow} {message}"));
        }
    }

    fn event(&mut self, event: &EventLine) {
        if self.silent() {
            return;
        }
        let status = if !self.color {
            event.status.clone()
        } else if event.status.ends_with("FAILED") || event.status.contains("ROLLBACK") {
            event.status.red().to_string()
        } else if event.status.ends_with("COMPLETE") {
            event.status.green().to_string()
        } else {
            event.status.yellow().to_string()
        };
        self.line(&event.render(&status));
    }

    fn changes(&mut self, changes: &[ResourceChange]) {
        if self.silent() {
            return;
        }
        for (line, stateful) in crate::changeset::table_lines(changes) {
            if stateful && self.color {
                self.line(&line.red().bold().to_string());
            } else {
                self.line(&line);
            }
        }
    }

    fn confirm(&mut self, question: &str) -> Result<bool> {
        if self.options.yes {
            return Ok(true);
        }
        if !self.interactive {
            bail!("{question}: needs confirmation, and there is no terminal to ask; re-run with --yes to proceed");
        }
        let answer = self.ask(&format!("{question} [y/N] "))?;
        Ok(matches!(answer.as_str(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }

    fn confirm_by_name(&mut self, question: &str) -> Result<bool> {
        if self.options.yes || !self.interactive {
            return Ok(false);
        }
        let answer = self.ask(&format!("{question}? [y/N] "))?;
        Ok(matches!(answer.as_str(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }

    fn type_to_confirm(&mut self, question: &str, expected: &str) -> Result<bool> {
        if self.options.yes || !self.interactive {
            bail!(
                "{question}: needs the stage's name typed at a terminal; for a script, add --confirm-stage {expected}"
            );
        }
        Ok(self.ask(&format!("{question}: type {expected} to proceed: "))? == expected)
    }

    fn uploads_started(&mut self, count: usize, bytes: u64) {
        if self.silent() {
            return;
        }
        self.step(&format!("uploading {count} artifact(s), {}", human_bytes(bytes)));
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("    [{bar:30}] {bytes}/{total_bytes} {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        // indicatif draws nothing when stderr is not a terminal.
        self.bar = Some(bar);
    }

    fn uploaded(&mut self, key: &str, bytes: u64) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => {
                bar.inc(bytes);
                bar.set_message(key.to_owned());
            }
            _ if !self.silent() => self.line(&format!("    uploaded {key} ({})", human_bytes(bytes))),
            _ => {}
        }
    }

    fn uploads_finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A UI for tests: records every line and answers confirmations with `answer`
/// (as `--yes` would), confirmations by name with `answer_by_name` (a person at a
/// terminal), and typed confirmations with `typed`.
#[derive(Debug, Default)]
pub struct Recorder {
    pub answer: bool,
    pub answer_by_name: bool,
    pub typed: Option<String>,
    pub lines: Vec<String>,
    pub questions: Vec<String>,
    pub uploads: Vec<String>,
}

impl Ui for Recorder {
    fn step(&mut self, message: &str) {
        self.lines.push(message.to_owned());
    }
    fn event(&mut self, event: &EventLine) {
        self.lines.push(event.render(&event.status));
    }
    fn changes(&mut self, changes: &[ResourceChange]) {
        self.lines.push(crate::changeset::table(changes));
    }
    fn confirm(&mut self, question: &str) -> Result<bool> {
        self.questions.push(question.to_owned());
        Ok(self.answer)
    }
    fn confirm_by_name(&mut self, question: &str) -> Result<bool> {
        self.questions.push(question.to_owned());
        Ok(self.answer_by_name)
    }
    fn type_to_confirm(&mut self, question: &str, expected: &str) -> Result<bool> {
        self.questions.push(question.to_owned());
        match &self.typed {
            Some(typed) => Ok(typed == expected),
            None => bail!("{question}: needs the stage's name typed; for a script, add --confirm-stage {expected}"),
        }
    }
    fn uploaded(&mut self, key: &str, _bytes: u64) {
        self.uploads.push(key.to_owned());
    }
}

pub fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    #[allow(clippy::cast_precision_loss)] // display only
    let bytes_f = bytes as f64;
    if bytes_f >= MIB { format!("{:.1} MiB", bytes_f / MIB) } else { format!("{:.1} KiB", bytes_f / 1024.0) }
}
