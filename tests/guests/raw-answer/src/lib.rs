//! Test guest on raw bindings: answers with bytes that are not JSON.
//!
//! Event `"utf8"` → invalid UTF-8; `"json"` → valid UTF-8 that is not JSON;
//! anything else → echoes the event bytes.

wit_bindgen::generate!({ world: "guest", path: "../../../guest-sdk/wit/0.2.0" });

use exports::wasm_lambda::guest::function::Guest;
use wasm_lambda::guest::types::{Context, GuestError, WarmInfo};

struct RawAnswer;

impl Guest for RawAnswer {
    fn init() -> Result<(), GuestError> {
        Ok(())
    }

    fn handle(event: Vec<u8>, _context: Context) -> Result<Vec<u8>, GuestError> {
        Ok(match event.as_slice() {
            b"\"utf8\"" => vec![0xff, 0xfe, 0xfd],
            b"\"json\"" => b"{this is not json".to_vec(),
            _ => event,
        })
    }

    fn warm(_info: WarmInfo) -> Result<Vec<u8>, GuestError> {
        Ok(b"not json either".to_vec())
    }
}

export!(RawAnswer);
