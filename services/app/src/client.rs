//! The client's contact data as a booking carries them: shared by the booking use cases and the
//! policy host, which shows them to a city's script.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientData {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}
