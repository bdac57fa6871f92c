//! Where an event goes: the [`router`] (first match wins), the
//! [`event_shape`]s it recognises, route [`pattern`]s, the [`warmer`]
//! (pings, guests' warm hooks, the answer) and its [`fanout`] to other
//! environments.

pub mod event_shape;
pub mod fanout;
pub mod pattern;
pub mod router;
pub mod warmer;
