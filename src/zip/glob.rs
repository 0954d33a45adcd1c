//! Shell globs for entry names, as unzip matches them: `*` any run of characters (`/`
//! included), `?` one character, `[abc]`, `[a-z]`, `[!x]` a class, `\` escapes.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point for the last `*`: linear in practice,
    // never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some(&c) => {
                if let Some((len, ok)) = match_one(&pattern[p..], c, name[n])
                    && ok
                {
                    p += len;
                    n += 1;
                    continue;
                }
            }
            None => {}
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Matches one pattern element at the start of `pattern` against `ch`: its length in the
/// pattern and whether it matched; `None` for a malformed class (then `[` is literal).
fn match_one(pattern: &[char], first: char, ch: char) -> Option<(usize, bool)> {
    match first {
        '?' => Some((1, true)),
        '\\' if pattern.len() > 1 => Some((2, pattern[1] == ch)),
        '[' => match class(pattern, ch) {
            Some(found) => Some(found),
            None => Some((1, ch == '[')),
        },
        c => Some((1, c == ch)),
    }
}

/// `[...]` at the start of `pattern`: its length and whether `ch` is in it.
fn class(pattern: &[char], ch: char) -> Option<(usize, bool)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let c = *pattern.get(i)?;
        if c == ']' && !first {
            return Some((i + 1, found != negated));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            let end = pattern[i + 2];
            found |= c <= ch && ch <= end;
            i += 3;
        } else {
            found |= c == ch;
            i += 1;
        }
    }
}

/// Whether `name` matches any of `patterns` (as a name or a glob); no patterns match
/// everything. A first pass: [`select_members`] then decides which argument selects what.
pub fn any_matches(patterns: &[String], name: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p == name || matches(p, name))
}

/// For each argument, the indices of the `names` it selects, in archive order: the entry it
/// names exactly if there is one (`a[1].txt` is that member, not `a1.txt`), else every entry
/// its glob matches. An argument that selects nothing gets an empty list.
pub fn select_members(args: &[String], names: &[&str]) -> Vec<Vec<usize>> {
    args.iter()
        .map(|arg| {
            let exact: Vec<usize> = (0..names.len()).filter(|&i| names[i] == arg).collect();
            if exact.is_empty() {
                (0..names.len())
                    .filter(|&i| matches(arg, names[i]))
                    .collect()
            } else {
                exact
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_name_wins_over_the_glob_it_also_is() {
        let names = ["a1.txt", "a[1].txt", "b.txt", "c/a1.txt"];
        let args: Vec<String> = ["a[1].txt", "*.txt", "a?.txt", "zzz"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            select_members(&args, &names),
            [vec![1], vec![0, 1, 2, 3], vec![0], vec![]]
        );
        assert!(names.iter().all(|n| any_matches(&args, n)));
        assert!(any_matches(&[], "anything"));
    }

    #[test]
    fn globs_match_like_unzip() {
        let cases = [
            ("*", "a/b/c.txt", true),
            ("*.txt", "a/b/c.txt", true),
            ("*.txt", "a/b/c.txt.gz", false),
            ("a/*", "a/b/c", true),
            ("?.txt", "a.txt", true),
            ("?.txt", "ab.txt", false),
            ("[abc].txt", "b.txt", true),
            ("[!abc].txt", "b.txt", false),
            ("[a-c]x", "cx", true),
            ("[a-c]x", "dx", false),
            ("[]]", "]", true),
            ("[", "[", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("data/*.csv", "data/2024/x.csv", true),
            ("", "", true),
            ("", "a", false),
            ("**a", "bba", true),
            ("*a*b*c*", "xaybzc", true),
            ("*a*b*c*", "xaybz", false),
            ("dir/", "dir/", true),
            ("ünï*", "ünïcode.txt", true),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), want, "{pattern:?} vs {name:?}");
        }
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let name = "a".repeat(2000);
        let pattern = "*a".repeat(50) + "b";
        assert!(!matches(&pattern, &name));
    }
}
