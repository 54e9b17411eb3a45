pub mod preread;
