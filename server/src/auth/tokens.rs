//! API tokens for scripts and the CLI: `llt_` and 32 random bytes in hex, shown once; the
//! database keeps their SHA-256 (as for sessions) and their first characters to tell them apart.

/// What every token starts with (so that secret scanners and people recognise one).
pub const PREFIX: &str = "llt_";

pub fn new_token() -> String {
    format!("{PREFIX}{}", super::sessions::new_token())
}

/// The part of a token that may be shown: its prefix and first 8 characters.
pub fn visible_part(token: &str) -> String {
    token.chars().take(PREFIX.len() + 8).collect()
}

/// The token in an `Authorization: Bearer …` header, if any.
pub fn from_authorization(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognisable_and_only_their_start_is_shown() {
        let token = new_token();
        assert!(token.starts_with("llt_") && token.len() == 68, "{token}");
        assert_eq!(visible_part(&token).len(), 12);
        assert!(token.starts_with(&visible_part(&token)));
        assert_eq!(from_authorization("Bearer llt_abc"), Some("llt_abc"));
        assert_eq!(from_authorization("bearer  llt_abc "), Some("llt_abc"));
        assert_eq!(from_authorization("Basic dXNlcg=="), None);
        assert_eq!(from_authorization("Bearer "), None);
    }
}
