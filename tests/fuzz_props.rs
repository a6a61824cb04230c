//! The bounded, CI-sized variant of the fuzz targets (`fuzz/`): generated
//! playbook-like text (token soup from `fuzz/ops.dict`, and splices of the
//! example playbooks) goes through parse → check → render in every format;
//! no panic, every diagnostic has a known code and a span inside the file
//! (both asserted by `coordops::testing::fuzz::check_text`).

use coordops::testing::fuzz::check_text;
use proptest::prelude::*;
use proptest::sample::Index;

const DICT: &str = include_str!("../fuzz/ops.dict");

const PLAYBOOKS: &[&str] = &[
    include_str!("../playbooks/examples/pipeline.ops"),
    include_str!("../playbooks/examples/fanout.ops"),
    include_str!("fixtures/syntax/rich.ops"),
];

/// The dictionary's tokens, unescaped (`"\x0A"`, `\"` and `\\`).
fn dictionary() -> Vec<String> {
    DICT.lines()
        .filter_map(|line| line.strip_prefix('"')?.strip_suffix('"'))
        .map(unescape)
        .collect()
}

fn unescape(token: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = token.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match (b, tail) {
            (b'\\', [b'x', h, l, tail @ ..]) => {
                let hex = std::str::from_utf8(&[*h, *l]).map(|s| u8::from_str_radix(s, 16));
                bytes.push(hex.ok().and_then(Result::ok).unwrap_or(b'?'));
                rest = tail;
            }
            (b'\\', [c, tail @ ..]) => {
                bytes.push(*c);
                rest = tail;
            }
            _ => {
                bytes.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn token_soup() -> impl Strategy<Value = String> {
    let tokens = dictionary();
    let separators = prop::sample::select(vec!["", " ", "\n", " { ", " } "]);
    prop::collection::vec((prop::sample::select(tokens), separators), 0..80).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(token, sep)| format!("{token}{sep}"))
            .collect()
    })
}

/// One change to a playbook, at character boundaries.
#[derive(Clone, Debug)]
enum Splice {
    /// Remove the text between two positions.
    Cut(Index, Index),
    /// Insert a dictionary token.
    Insert(Index, String),
    /// Copy the text between two positions to a third (nests blocks).
    Duplicate(Index, Index, Index),
}

fn splice() -> impl Strategy<Value = Splice> {
    prop_oneof![
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Splice::Cut(a, b)),
        (any::<Index>(), prop::sample::select(dictionary()))
            .prop_map(|(at, token)| Splice::Insert(at, token)),
        (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(a, b, at)| Splice::Duplicate(a, b, at)),
    ]
}

fn apply(text: &str, splice: &Splice) -> String {
    let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    bounds.push(text.len());
    let at = |i: &Index| bounds[i.index(bounds.len())];
    let range = |a: &Index, b: &Index| {
        let (a, b) = (at(a), at(b));
        (a.min(b), a.max(b))
    };
    match splice {
        Splice::Cut(a, b) => {
            let (start, end) = range(a, b);
            format!("{}{}", &text[..start], &text[end..])
        }
        Splice::Insert(i, token) => {
            let pos = at(i);
            format!("{}{token}{}", &text[..pos], &text[pos..])
        }
        Splice::Duplicate(a, b, i) => {
            let (start, end) = range(a, b);
            // Keep copies short, so inputs stay small.
            let end = (start..=end.min(start + 400))
                .rev()
                .find(|e| text.is_char_boundary(*e))
                .unwrap_or(start);
            let pos = at(i);
            format!("{}{}{}", &text[..pos], &text[start..end], &text[pos..])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_goes_through_the_pipeline(text in token_soup()) {
        check_text(&text);
    }
}

proptest! {
    // Whole playbooks are slower to check: fewer cases keep this ~1-3 s in debug.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn spliced_playbooks_go_through_the_pipeline(
        which in any::<Index>(),
        splices in prop::collection::vec(splice(), 1..4),
    ) {
        let mut text = PLAYBOOKS[which.index(PLAYBOOKS.len())].to_string();
        for s in &splices {
            text = apply(&text, s);
        }
        check_text(&text);
    }
}

#[test]
fn the_dictionary_unescapes() {
    let tokens = dictionary();
    assert!(tokens.len() > 50, "{} tokens", tokens.len());
    for expected in ["workflow", "parallel", "\n", "\"", "\\", "=>"] {
        assert!(tokens.iter().any(|t| t == expected), "{expected:?} missing");
    }
}

#[test]
fn unspliced_playbooks_reach_the_checker() {
    // No syntax errors, so splices exercise the analysis too.
    for text in PLAYBOOKS {
        let (_, diagnostics) = check_text(text);
        let syntax: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.code.starts_with("ops::parse"))
            .collect();
        assert!(syntax.is_empty(), "{syntax:#?}");
    }
}
