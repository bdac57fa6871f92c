//! Where an event goes: the [`router`] (first match wins), the
//! [`event_shape`]s it recognises, route [`pattern`]s, and the [`warmer`]
//! (pings, guests' warm hooks, the answer).

pub mod event_shape;
pub mod pattern;
pub mod router;
pub mod warmer;
