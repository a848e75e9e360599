//! What a user asks a pipeline run to start with: New Batch's arguments and extra environment
//! variables, checked at the form so that a value the job could never start with is refused
//! with a message naming the field, not accepted and failed later.

use std::collections::BTreeMap;

/// The longest arguments line accepted.
pub const MAX_ARGUMENTS: usize = 4 * 1024;
/// The longest value of one environment variable accepted.
pub const MAX_VALUE: usize = 4 * 1024;
/// The most environment variables accepted.
pub const MAX_VARIABLES: usize = 64;

/// A checked request to start a pipeline run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRequest {
    pub arguments: String,
    pub environment: BTreeMap<String, String>,
}

/// Why a request was refused; each names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRequestError {
    ArgumentsTooLong(usize),
    ControlCharacter { field: &'static str },
    NotKeyValue { line: String },
    BadName { name: String },
    ValueTooLong { name: String },
    TooManyVariables(usize),
}

impl std::fmt::Display for RunRequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunRequestError::ArgumentsTooLong(n) => write!(f, "arguments: {n} bytes is too long; at most {MAX_ARGUMENTS}"),
            RunRequestError::ControlCharacter { field } => {
                write!(f, "{field}: contains a control character (such as NUL); type plain text")
            }
            RunRequestError::NotKeyValue { line } => write!(f, "environment: {line:?} is not a KEY=VALUE line"),
            RunRequestError::BadName { name } => {
                write!(f, "environment: {name:?} is not a variable name; use letters, digits and '_', not starting with a digit")
            }
            RunRequestError::ValueTooLong { name } => write!(f, "environment: the value of {name} is longer than {MAX_VALUE} bytes"),
            RunRequestError::TooManyVariables(n) => write!(f, "environment: {n} variables is too many; at most {MAX_VARIABLES}"),
        }
    }
}

impl std::error::Error for RunRequestError {}

fn has_control(text: &str, allowed: &[char]) -> bool {
    text.chars().any(|c| c.is_control() && !allowed.contains(&c))
}

impl RunRequest {
    /// Arguments as one line; the environment as `KEY=VALUE` lines (blank lines and `#`
    /// comments ignored, the last of a repeated name wins).
    pub fn parse(arguments: &str, environment: &str) -> Result<RunRequest, RunRequestError> {
        let arguments = arguments.trim();
        if arguments.len() > MAX_ARGUMENTS {
            return Err(RunRequestError::ArgumentsTooLong(arguments.len()));
        }
        if has_control(arguments, &['\t']) {
            return Err(RunRequestError::ControlCharacter { field: "arguments" });
        }
        if has_control(environment, &['\t', '\n', '\r']) {
            return Err(RunRequestError::ControlCharacter { field: "environment" });
        }
        let mut variables = BTreeMap::new();
        for line in environment.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((name, value)) = line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) else {
                return Err(RunRequestError::NotKeyValue { line: line.to_string() });
            };
            if name.is_empty() {
                return Err(RunRequestError::NotKeyValue { line: line.to_string() });
            }
            let valid = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(RunRequestError::BadName { name: name.to_string() });
            }
            if value.len() > MAX_VALUE {
                return Err(RunRequestError::ValueTooLong { name: name.to_string() });
            }
            variables.insert(name.to_string(), value.to_string());
            if variables.len() > MAX_VARIABLES {
                return Err(RunRequestError::TooManyVariables(variables.len()));
            }
        }
        Ok(RunRequest { arguments: arguments.to_string(), environment: variables })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_key_value_lines() {
        let request = RunRequest::parse(" --rows 10 ", "A=1\n\n  # a comment\nB = two words \nC=\nD=x=y\n").unwrap();
        assert_eq!(request.arguments, "--rows 10");
        let pairs: Vec<(&str, &str)> = request.environment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("A", "1"), ("B", "two words"), ("C", ""), ("D", "x=y")]);
        assert!(RunRequest::parse("", "").unwrap().environment.is_empty());
        assert_eq!(RunRequest::parse("", "A=1\nA=2").unwrap().environment["A"], "2", "the last one wins");
    }

    #[test]
    fn what_a_job_could_not_start_with_is_refused_naming_the_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("a\0b", "", "arguments: contains a control character"),
            ("", "A=x\0y", "environment: contains a control character"),
            (&"x".repeat(MAX_ARGUMENTS + 1), "", "arguments: 4097 bytes"),
            ("", "just words", "not a KEY=VALUE line"),
            ("", "=value", "not a KEY=VALUE line"),
            ("", "TWO WORDS=x", "\"TWO WORDS\" is not a variable name"),
            ("", "1ST=x", "\"1ST\" is not a variable name"),
            ("", "A-B=x", "\"A-B\" is not a variable name"),
            ("", &format!("BIG={}", "v".repeat(MAX_VALUE + 1)), "the value of BIG is longer"),
            ("", &(0..=MAX_VARIABLES).map(|i| format!("V{i}=1\n")).collect::<String>(), "65 variables is too many"),
        ];
        for (arguments, environment, message) in cases {
            let err = RunRequest::parse(arguments, environment).unwrap_err();
            assert!(err.to_string().contains(message), "{:?}/{:?}: {err}", &arguments[..arguments.len().min(20)], &environment[..environment.len().min(20)]);
        }
        assert!(RunRequest::parse("a\tb", "A=\tx").is_ok(), "tabs are text");
        assert!(RunRequest::parse(&"x".repeat(MAX_ARGUMENTS), "").is_ok(), "the limit itself is accepted");
    }
}
