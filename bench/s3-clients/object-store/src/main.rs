//! Builds an S3 client from the standard AWS environment variables and reads
//! one object, as the host does at init: `s3-probe-object-store BUCKET KEY`.
use object_store::{ObjectStoreExt, aws::AmazonS3Builder, path::Path};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(bucket), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: s3-probe-object-store BUCKET KEY");
        std::process::exit(2);
    };
    let result = async {
        let store = AmazonS3Builder::from_env().with_bucket_name(&bucket).build()?;
        store.get(&Path::from(key.as_str())).await?.bytes().await
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
