//! The glue between the generated `function` export and a [`Function`].
//!
//! The instance's state lives in a thread-local slot the export macro
//! declares (a wasm instance has one thread); these helpers create it with
//! `Default`, run the author's hooks on it and translate JSON both ways.

use std::cell::RefCell;

use crate::bindings::wasm_lambda::guest::types;
use crate::{Context, Error, Function, WarmInfo};

type Slot<F> = RefCell<Option<F>>;

/// Creates the instance's function and runs its `init` hook.
pub fn run_init<F: Function>(slot: &Slot<F>) -> Result<(), types::GuestError> {
    let mut function = F::default();
    function.init().map_err(Error::into_wit)?;
    *slot.borrow_mut() = Some(function);
    Ok(())
}

/// Decodes the event, runs `handle` and encodes its answer.
pub fn run_handle<F: Function>(
    slot: &Slot<F>,
    event: Vec<u8>,
    context: types::Context,
) -> Result<Vec<u8>, types::GuestError> {
    let event: F::Event = serde_json::from_slice(&event).map_err(|e| {
        Error::new(
            "InvalidEvent",
            format!("event does not match the guest's event type: {e}"),
        )
        .into_wit()
    })?;
    let context = Context::from_wit(context);
    with_function(slot, |function| {
        let output = function.handle(event, &context)?;
        serde_json::to_vec(&output).map_err(|e| {
            Error::new(
                "InvalidOutput",
                format!("answer could not be serialized: {e}"),
            )
        })
    })
}

/// Runs the `warm` hook and encodes its answer.
pub fn run_warm<F: Function>(
    slot: &Slot<F>,
    info: types::WarmInfo,
) -> Result<Vec<u8>, types::GuestError> {
    let info = WarmInfo::from_wit(info);
    with_function(slot, |function| {
        let answer = function.warm(&info)?;
        serde_json::to_vec(&answer).map_err(|e| {
            Error::new(
                "InvalidOutput",
                format!("warm answer could not be serialized: {e}"),
            )
        })
    })
}

/// Runs `hook` on the instance's function, creating it first if the host
/// never called `init` (it always does; this keeps a misbehaving host from
/// turning into a guest panic).
fn with_function<F: Function>(
    slot: &Slot<F>,
    hook: impl FnOnce(&mut F) -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, types::GuestError> {
    if slot.borrow().is_none() {
        run_init(slot)?;
    }
    let mut state = slot.borrow_mut();
    match state.as_mut() {
        Some(function) => hook(function).map_err(Error::into_wit),
        None => Err(Error::new("NotInitialized", "the guest has no state").into_wit()),
    }
}
