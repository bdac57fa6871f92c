//! Reads one local file on a tokio runtime: the size and start-up floor the
//! two S3 probes are compared with.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/etc/hostname".into());
    match tokio::fs::read(&path).await {
        Ok(bytes) => println!("{} bytes", bytes.len()),
        Err(error) => {
            eprintln!("{path}: {error}");
            std::process::exit(1);
        }
    }
}
