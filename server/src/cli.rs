//! Commands of the `lakeline` binary besides serving: `lakeline user add|list`.

use std::io::{BufRead, Write};

use crate::auth::Auth;
use crate::config::{Command, Config, UserCommand};
use crate::store::Store;

/// Runs a command; answers the process's exit code.
pub async fn run(config: &Config, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::User(user) => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = Store::open(&config.database_path()).await?;
            let result = users(&store, user).await;
            store.close().await;
            result
        }
    }
}

async fn users(store: &Store, command: &UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role, password_stdin } => {
            let password = if *password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            } else {
                ask_password()?
            };
            Auth::new(store.clone()).add_user(name, *role, &password).await?;
            store
                .record_event(crate::store::audit::Actor::lakeline("lakeline user add"), "user.add", &format!("user {name:?} ({role})"), "ok")
                .await?;
            println!("added {name} ({role})");
        }
        UserCommand::List => {
            for user in store.users().await? {
                let disabled = if user.disabled { " (disabled)" } else { "" };
                println!("{}\t{}{disabled}", user.name, user.role);
            }
        }
    }
    Ok(())
}

/// Asks for a password twice on the terminal, without echo.
fn ask_password() -> anyhow::Result<String> {
    let first = read_hidden("Password: ")?;
    let second = read_hidden("Password again: ")?;
    anyhow::ensure!(first == second, "the two passwords differ");
    Ok(first)
}

fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let echo_off = std::process::Command::new("stty").arg("-echo").stdin(std::process::Stdio::inherit()).status().is_ok_and(|s| s.success());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if echo_off {
        let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
