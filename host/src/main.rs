//! `wasm-lambda-host`: the Lambda `bootstrap`, and its tools.

use std::path::Path;
use std::process::ExitCode;

use wasm_lambda_host::{
    commands, logging, model_commands, runtime_api::RuntimeApi, runtime_loop, settings::Settings,
};

const USAGE: &str = "\
wasm-lambda-host: run WebAssembly guests on AWS Lambda

usage:
  wasm-lambda-host                            the Lambda runtime loop (needs AWS_LAMBDA_RUNTIME_API)
  wasm-lambda-host precompile DIR             compile the guests in DIR to .cwasm beside them
  wasm-lambda-host invoke GUEST [EVENT|-]     run one event (file, or - for stdin) and print the answer
  wasm-lambda-host check FILE.wasm            say whether this host can run a guest, and why not
  wasm-lambda-host models DIR                 list the models in DIR with their inputs and outputs
  wasm-lambda-host infer MODEL [INPUT|-]      run a model once; INPUT is {\"name\": nested arrays}
                                              (inline, a file, or - for stdin; default zeros)

environment: WASM_LAMBDA_GUESTS (/opt/guests), WASM_LAMBDA_MODELS (/opt/models),
             WASM_LAMBDA_CACHE (/tmp/wasm-lambda-cache), WASM_LAMBDA_DEFAULT_GUEST,
             WASM_LAMBDA_STRICT (unset), RUST_LOG (info)";

fn main() -> ExitCode {
    logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] => run_runtime(),
        ["precompile", dir] => commands::precompile(Path::new(dir)).map(|()| true),
        ["invoke", guest] => commands::invoke(guest, None),
        ["invoke", guest, event] => commands::invoke(guest, Some(event)),
        ["check", file] => commands::check(Path::new(file)),
        ["models", dir] => model_commands::list_models(Path::new(dir)),
        ["infer", model] => model_commands::infer(Path::new(model), None).map(|()| true),
        ["infer", model, input] => {
            model_commands::infer(Path::new(model), Some(input)).map(|()| true)
        }
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            Ok(true)
        }
        ["--version" | "-V"] => {
            println!("wasm-lambda-host {}", env!("CARGO_PKG_VERSION"));
            Ok(true)
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_runtime() -> anyhow::Result<bool> {
    let Some(endpoint) = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        anyhow::bail!(
            "AWS_LAMBDA_RUNTIME_API is not set: run under Lambda or a Runtime API emulator, or use `invoke`"
        );
    };
    let api = RuntimeApi::new(&endpoint)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime_loop::run(&runtime, api, Settings::from_env())?;
    Ok(true)
}
