use clap::Parser;
use lakeline::config::Config;
use lakeline::{shutdown_signal, Lakeline};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse().with_cml_environment();
    if let Some(command) = &config.command {
        return lakeline::cli::run(&config, command).await;
    }
    lakeline::telemetry::init(&config.log_level);
    tracing::info!(?config, "starting Lakeline");
    let result = async { Lakeline::prepare(config).await?.serve(shutdown_signal()).await }.await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("lakeline: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
