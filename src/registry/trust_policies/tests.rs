//! Subject and claim patterns.

use super::*;

#[test]
fn a_star_matches_any_run_of_characters_and_nothing_else_is_special() {
    let cases = [
        (
            "repo:acme/app:ref:refs/heads/main",
            "repo:acme/app:ref:refs/heads/main",
            true,
        ),
        ("repo:acme/app:*", "repo:acme/app:ref:refs/heads/main", true),
        (
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/app:ref:refs/heads/main",
            true,
        ),
        (
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/app:ref:refs/heads/dev",
            false,
        ),
        ("*", "", true),
        ("a*b*c", "abc", true),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("ab*ba", "aba", false),
        (
            "system:serviceaccount:ci:builder",
            "system:serviceaccount:ci:builder2",
            false,
        ),
        ("a.c", "abc", false),
        ("", "x", false),
    ];
    for (pattern, value, expected) in cases {
        assert_eq!(
            matches_pattern(pattern, value),
            expected,
            "{pattern} ~ {value}"
        );
    }
}
