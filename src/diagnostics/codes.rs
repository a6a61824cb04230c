//! Every diagnostic code coordops can emit. Codes are stable: tools match on them.

/// The path does not exist.
pub const IO_NOT_FOUND: &str = "ops::io::not_found";
/// The path could not be read (permissions, device errors).
pub const IO_UNREADABLE: &str = "ops::io::unreadable";
/// A file path was expected but a directory was given.
pub const IO_IS_DIRECTORY: &str = "ops::io::is_directory";
/// A directory holds no `.ops` files.
pub const IO_NO_PLAYBOOKS: &str = "ops::io::no_playbooks";
/// The file is not UTF-8.
pub const IO_NOT_UTF8: &str = "ops::io::not_utf8";
/// The file exceeds [`crate::source::MAX_FILE_BYTES`].
pub const IO_TOO_LARGE: &str = "ops::io::too_large";

/// The file holds no declarations.
pub const PARSE_EMPTY: &str = "ops::parse::empty_file";
/// A token that does not fit where it stands.
pub const PARSE_UNEXPECTED: &str = "ops::parse::unexpected_token";
/// The file ends in the middle of a construct.
pub const PARSE_UNEXPECTED_EOF: &str = "ops::parse::unexpected_end";
/// A `"` string not closed on its line.
pub const PARSE_UNTERMINATED_STRING: &str = "ops::parse::unterminated_string";
/// A `/` regex not closed on its line.
pub const PARSE_UNTERMINATED_REGEX: &str = "ops::parse::unterminated_regex";
/// An opening bracket never closed.
pub const PARSE_UNCLOSED: &str = "ops::parse::unclosed_delimiter";
/// A closing bracket that closes nothing, or the wrong thing.
pub const PARSE_MISMATCHED: &str = "ops::parse::mismatched_delimiter";
/// An unknown `\` escape in a string.
pub const PARSE_INVALID_ESCAPE: &str = "ops::parse::invalid_escape";
/// A number, duration or percent too large to represent.
pub const PARSE_NUMBER_TOO_LARGE: &str = "ops::parse::number_too_large";
/// A reserved word used as a name.
pub const PARSE_RESERVED_WORD: &str = "ops::parse::reserved_word";
/// Brackets or interpolations nested past [`crate::syntax::MAX_NESTING`].
pub const PARSE_TOO_DEEP: &str = "ops::parse::nesting_too_deep";
/// An expression with more operators than [`crate::syntax::MAX_OPERATORS`].
pub const PARSE_EXPRESSION_TOO_LONG: &str = "ops::parse::expression_too_long";
/// The parser's work budget ran out.
pub const PARSE_TOO_COMPLEX: &str = "ops::parse::too_complex";
/// A character that is not part of the language.
pub const PARSE_INVALID_CHARACTER: &str = "ops::parse::invalid_character";

/// Every code, for documentation and tests.
pub const ALL: &[&str] = &[
    IO_NOT_FOUND,
    IO_UNREADABLE,
    IO_IS_DIRECTORY,
    IO_NO_PLAYBOOKS,
    IO_NOT_UTF8,
    IO_TOO_LARGE,
    PARSE_EMPTY,
    PARSE_UNEXPECTED,
    PARSE_UNEXPECTED_EOF,
    PARSE_UNTERMINATED_STRING,
    PARSE_UNTERMINATED_REGEX,
    PARSE_UNCLOSED,
    PARSE_MISMATCHED,
    PARSE_INVALID_ESCAPE,
    PARSE_NUMBER_TOO_LARGE,
    PARSE_RESERVED_WORD,
    PARSE_TOO_DEEP,
    PARSE_EXPRESSION_TOO_LONG,
    PARSE_TOO_COMPLEX,
    PARSE_INVALID_CHARACTER,
];
