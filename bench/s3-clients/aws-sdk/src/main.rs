//! Builds an S3 client from the standard AWS environment variables and reads
//! one object, as the host would at init: `s3-probe-aws-sdk BUCKET KEY`.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(bucket), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: s3-probe-aws-sdk BUCKET KEY");
        std::process::exit(2);
    };
    let shared = aws_config::load_from_env().await;
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let result = async {
        let object = client.get_object().bucket(&bucket).key(&key).send().await?;
        Ok::<_, Box<dyn std::error::Error>>(object.body.collect().await?.into_bytes())
    }
    .await;
    match result {
        Ok(bytes) => println!("{} bytes", bytes.len()),
        Err(error) => {
            eprintln!("s3://{bucket}/{key}: {error}");
            std::process::exit(1);
        }
    }
}
