//! Placeholder until the slow path lands (replaced by the validation branch).
#![allow(missing_docs)]
use crate::payload::Webhook;
use bytes::Bytes;
#[derive(Debug)]
pub struct ValidationErrors(String);
impl ValidationErrors {
    pub fn to_json(&self) -> Bytes {
        serde_json::to_vec(&serde_json::json!({"detail":[{"loc":["body"],"msg":self.0,"type":"value_error.jsondecode"}]})).unwrap_or_default().into()
    }
}
pub fn parse(body: &[u8]) -> Result<Webhook<'_>, ValidationErrors> {
    Webhook::from_slice(body).map_err(|e| ValidationErrors(e.to_string()))
}
