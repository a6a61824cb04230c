//! The printer's core: indentation, lines, blank lines and comments.
//!
//! Constructs are printed in source order. The printer remembers where in the
//! source the last printed token ended (the *anchor*); from it, it knows
//!
//! - which comments come before the next node (printed on their own lines),
//! - which comment trails the line just printed (`timeout 30s # why`),
//! - whether the author left a blank line before the next node (kept, at
//!   most one, never right after `{`).

use crate::ast::Span;
use crate::syntax::Comment;

/// Columns a line should fit in before groups break.
pub const WIDTH: usize = 100;
/// One level of indentation.
const INDENT: &str = "  ";
/// Stands for the gap before a trailing comment until the gaps are aligned
/// (a control character: it cannot occur in a playbook's tokens).
const TRAILING_MARK: &str = "\u{1}";

/// Builds the formatted text of one file.
pub(super) struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    next: usize,
    out: String,
    pub(super) indent: usize,
    at_line_start: bool,
    anchor: usize,
    fresh: bool,
    /// Lines (0-based) that end in a trailing comment, for aligning them.
    trailing: Vec<usize>,
    lines: usize,
}

impl<'a> Printer<'a> {
    /// A printer for `src`, whose comments are `comments`.
    pub(super) fn new(src: &'a str, comments: &'a [Comment]) -> Self {
        Printer {
            src,
            comments,
            next: 0,
            out: String::with_capacity(src.len() + src.len() / 8),
            indent: 0,
            at_line_start: true,
            anchor: 0,
            fresh: true,
            trailing: Vec::new(),
            lines: 0,
        }
    }

    /// The finished text: every comment printed, one final line break.
    pub(super) fn finish(mut self) -> String {
        if !self.at_line_start {
            self.newline();
        }
        self.start(self.src.len(), true);
        let kept = self.out.trim_end_matches('\n').len();
        self.out.truncate(kept);
        self.out.push('\n');
        align_trailing(&self.out, &self.trailing)
    }

    fn push_newline(&mut self) {
        self.out.push('\n');
        self.lines += 1;
    }

    /// The source text of `span`.
    pub(super) fn slice(&self, span: Span) -> &'a str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    /// The source text from `from` to the end.
    pub(super) fn rest(&self, from: usize) -> &'a str {
        self.src.get(from..).unwrap_or("")
    }

    /// Whether the source has a line break in `from..to`.
    pub(super) fn has_newline(&self, from: usize, to: usize) -> bool {
        from < to && self.src.get(from..to).is_some_and(|s| s.contains('\n'))
    }

    /// Whether unprinted code (more than brackets and commas,
    /// which the layout writes itself) lies between the last printed token
    /// and `pos`.
    fn code_before(&self, pos: usize) -> bool {
        self.src.get(self.anchor.min(pos)..pos).is_some_and(|s| {
            s.chars()
                .any(|c| !c.is_whitespace() && !"()[]{},".contains(c))
        })
    }

    /// Whether the source breaks the line between the last printed token and `pos`.
    pub(super) fn broke_before(&self, pos: usize) -> bool {
        self.has_newline(self.anchor, pos)
    }

    /// Whether a comment not yet printed starts before `pos`.
    pub(super) fn comment_before(&self, pos: usize) -> bool {
        self.comments
            .get(self.next)
            .is_some_and(|c| c.span.start < pos)
    }

    /// The column the next character would be written at.
    pub(super) fn column(&self) -> usize {
        if self.at_line_start {
            return self.indent * INDENT.len();
        }
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.chars().count()
    }

    /// Whether `text` still fits on the current line.
    pub(super) fn fits(&self, text: &str) -> bool {
        self.column() + text.chars().count() <= WIDTH
    }

    /// Writes text that is not taken from the source (keywords, punctuation).
    pub(super) fn write(&mut self, text: &str) {
        if self.at_line_start {
            for _ in 0..self.indent {
                self.out.push_str(INDENT);
            }
            self.at_line_start = false;
        }
        self.out.push_str(text);
    }

    /// Writes the source text of `span` and moves the anchor past it.
    pub(super) fn token(&mut self, span: Span) {
        let text = self.slice(span);
        self.write(text);
        self.touch(span.end);
    }

    /// Writes the source text of `span` with each run of spaces made one
    /// space, or exactly as written if it holds a string, a regex, a `#` or
    /// a line break (the comments in it are then printed with it).
    pub(super) fn words(&mut self, span: Span) {
        let text = self.slice(span);
        if text.contains(['"', '/', '#', '\n', '\r']) {
            self.write(text);
            while self.comment_before(span.end) {
                self.next += 1;
            }
        } else {
            let words: Vec<&str> = text.split_whitespace().collect();
            self.write(&words.join(" "));
        }
        self.touch(span.end);
    }

    /// Records that the source up to `end` has been printed.
    pub(super) fn touch(&mut self, end: usize) {
        self.anchor = self.anchor.max(end);
    }

    /// Ends the line, keeping the comment that trailed it in the source.
    pub(super) fn newline(&mut self) {
        let leftover = self.comment_before(self.anchor);
        if !leftover {
            if let Some(c) = self.comments.get(self.next) {
                // The comment trails this line only if no code of the source
                // line still to be printed (a field after `{`) stands before it.
                let same_line =
                    !self.has_newline(self.anchor, c.span.start) && !self.code_before(c.span.start);
                if same_line && !self.at_line_start {
                    self.trailing.push(self.lines);
                    self.write(TRAILING_MARK);
                    self.write(&c.text);
                    self.touch(c.span.end);
                    self.next += 1;
                }
            }
        }
        if !self.at_line_start {
            self.push_newline();
        }
        self.at_line_start = true;
        // Comments the layout moved off their line follow it, in order.
        while self.comment_before(self.anchor) {
            self.own_line_comment();
        }
    }

    fn own_line_comment(&mut self) {
        if let Some(c) = self.comments.get(self.next) {
            self.write(&c.text);
            self.push_newline();
            self.at_line_start = true;
            self.touch(c.span.end);
            self.next += 1;
        }
    }

    /// Starts a node at source offset `pos` on a new line: first the comments
    /// before it, and a blank line where the source had one (if `blank_ok`).
    pub(super) fn start(&mut self, pos: usize, blank_ok: bool) {
        if !self.at_line_start {
            self.newline();
        }
        while let Some(c) = self.comments.get(self.next).filter(|c| c.span.start < pos) {
            let start = c.span.start;
            self.blank_line(start, blank_ok);
            self.own_line_comment();
            self.fresh = false;
        }
        self.blank_line(pos, blank_ok);
        self.fresh = false;
    }

    fn blank_line(&mut self, pos: usize, blank_ok: bool) {
        if !blank_ok || self.fresh || pos <= self.anchor {
            return;
        }
        let between = self.src.get(self.anchor..pos).unwrap_or("");
        let lines: Vec<&str> = between.split('\n').collect();
        let blank = lines.len() >= 3
            && lines[1..lines.len() - 1]
                .iter()
                .any(|l| l.trim().is_empty());
        if blank {
            self.push_newline();
        }
    }

    /// Writes ` {` (or `{` at a line start), ends the line and indents.
    pub(super) fn open(&mut self, brace: &str) {
        self.write(brace);
        self.newline();
        self.indent += 1;
        self.fresh = true;
    }

    /// Prints the comments left before the closer at `close`, outdents and
    /// writes `closer` (`}`, `)` or `]`).
    pub(super) fn close(&mut self, close: usize, closer: &str) {
        while self.comment_before(close) {
            let start = self.comments[self.next].span.start;
            if !self.at_line_start {
                self.newline();
                continue;
            }
            self.blank_line(start, true);
            self.own_line_comment();
            self.fresh = false;
        }
        if !self.at_line_start {
            self.newline();
        }
        self.indent = self.indent.saturating_sub(1);
        self.fresh = false;
        self.write(closer);
        self.touch(close + closer.len());
    }

    /// What `print` writes on a fresh line of a printer without comments.
    pub(super) fn scratch(&self, print: impl FnOnce(&mut Printer<'a>)) -> String {
        let mut scratch = Printer::new(self.src, &[]);
        scratch.anchor = self.anchor;
        scratch.at_line_start = false;
        print(&mut scratch);
        scratch.out
    }

    /// Prints a braced list of members in source order: ` {}` when there is
    /// nothing inside (not even a comment), ` { a b }` for up to
    /// `inline_most` members written on one line that fit, else one member
    /// per line.
    pub(super) fn members<T>(
        &mut self,
        inline_most: usize,
        close: usize,
        members: &[T],
        start_of: impl Fn(&T) -> usize,
        mut each: impl FnMut(&mut Self, &T),
    ) {
        if members.is_empty() && !self.comment_before(close) {
            self.write(" {}");
            self.touch(close + 1);
            return;
        }
        if members.len() <= inline_most && !self.has_newline(self.anchor, close) {
            let inline = self.scratch(|p| {
                for member in members {
                    p.write(" ");
                    each(p, member);
                }
            });
            let inline = format!(" {{{inline} }}");
            if !inline.contains('\n') && self.fits(&inline) {
                self.write(&inline);
                self.touch(close + 1);
                return;
            }
        }
        self.open(" {");
        for member in members {
            self.start(start_of(member), true);
            each(self, member);
            self.newline();
        }
        self.close(close, "}");
    }
}

/// Aligns the trailing comments of consecutive lines one space after the
/// longest code among them, replacing each [`TRAILING_MARK`].
fn align_trailing(out: &str, trailing: &[usize]) -> String {
    let mut lines: Vec<String> = out.split('\n').map(str::to_string).collect();
    let mut i = 0;
    while i < trailing.len() {
        let mut j = i + 1;
        while j < trailing.len() && trailing[j] == trailing[j - 1] + 1 {
            j += 1;
        }
        let width = |line: &str| {
            line.split(TRAILING_MARK)
                .next()
                .map_or(0, |c| c.chars().count())
        };
        let column = trailing[i..j]
            .iter()
            .filter_map(|&n| lines.get(n).map(|l| width(l)))
            .max()
            .unwrap_or(0);
        for &n in &trailing[i..j] {
            if let Some(line) = lines.get_mut(n) {
                let pad = column - width(line) + 1;
                *line = line.replacen(TRAILING_MARK, &" ".repeat(pad), 1);
            }
        }
        i = j;
    }
    lines.join("\n")
}
