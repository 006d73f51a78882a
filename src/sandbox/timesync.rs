//! A stateful in-memory TimeSync server (being written).
