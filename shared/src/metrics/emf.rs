//! The embedded metric format writer: a batch as few JSON documents as its dimension values
//! allow, one per line, serde_json doing the escaping.

use super::batch::{Batch, Data, Datum};
use super::declared::FUNCTION;
use super::flush::Context;
use std::io::Write;

impl Batch {
    /// The batch as EMF documents, one JSON object per line. Data go into as few documents
    /// as possible: a datum joins a document unless the document already has its metric
    /// (under other dimension values) or gives one of its dimensions another value.
    pub fn write_emf(
        &self,
        context: &Context,
        timestamp_ms: u64,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let mut documents: Vec<Vec<&Datum>> = Vec::new();
        for datum in &self.data {
            let fits = |doc: &Vec<&Datum>| {
                doc.iter().all(|other| {
                    other.metric.name != datum.metric.name
                        && datum.dimensions().all(|(key, value)| {
                            other.dimensions().all(|(k, v)| k != key || v == value)
                        })
                })
            };
            match documents.iter_mut().find(|doc| fits(doc)) {
                Some(doc) => doc.push(datum),
                None => documents.push(vec![datum]),
            }
        }
        let mut line = Vec::with_capacity(512);
        for doc in documents {
            line.clear();
            write_document(&doc, context, timestamp_ms, &mut line)?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    }

    /// [`Batch::write_emf`] into lines.
    pub fn emf_lines(&self, context: &Context, timestamp_ms: u64) -> Vec<String> {
        let mut out = Vec::new();
        self.write_emf(context, timestamp_ms, &mut out)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        String::from_utf8(out)
            .unwrap_or_else(|_| unreachable!("serde_json writes UTF-8"))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn json_str(out: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, text).map_err(std::io::Error::other)
}

/// One EMF document: `_aws` with one directive per distinct list of dimension sets, the
/// dimension values, then each metric's value (a number, or an array of up to 100).
fn write_document(
    doc: &[&Datum],
    context: &Context,
    timestamp_ms: u64,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    write!(
        out,
        "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":["
    )?;
    write_directives(doc, context, out)?;
    out.extend_from_slice(b"]},\"");
    out.extend_from_slice(FUNCTION.as_bytes());
    out.extend_from_slice(b"\":");
    json_str(out, &context.function)?;
    write_dimension_values(doc, out)?;
    write_metric_values(doc, out)?;
    out.push(b'}');
    Ok(())
}

/// The `CloudWatchMetrics` directives: one per distinct list of dimension sets, in the order
/// the data first use it, each naming its metrics and their units.
fn write_directives(doc: &[&Datum], context: &Context, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut directives: Vec<&'static [&'static [&'static str]]> = Vec::new();
    for datum in doc {
        if !directives.contains(&datum.metric.dimension_sets) {
            directives.push(datum.metric.dimension_sets);
        }
    }
    for (i, sets) in directives.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"Namespace\":");
        json_str(out, &context.namespace)?;
        out.extend_from_slice(b",\"Dimensions\":[");
        for (j, set) in sets.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.push(b'[');
            for (k, name) in set.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                json_str(out, name)?;
            }
            out.push(b']');
        }
        out.extend_from_slice(b"],\"Metrics\":[");
        let members = doc.iter().filter(|d| d.metric.dimension_sets == *sets);
        for (j, datum) in members.enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"Name\":");
            json_str(out, datum.metric.name)?;
            write!(out, ",\"Unit\":\"{}\"}}", datum.metric.unit.as_str())?;
        }
        out.extend_from_slice(b"]}");
    }
    Ok(())
}

/// Each dimension's value, once per document (the data of one document agree on them).
fn write_dimension_values(doc: &[&Datum], out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut written: Vec<&str> = Vec::new();
    for datum in doc {
        for (key, value) in datum.dimensions() {
            if !written.contains(&key) {
                written.push(key);
                out.push(b',');
                json_str(out, key)?;
                out.push(b':');
                json_str(out, value)?;
            }
        }
    }
    Ok(())
}

/// Each metric's value: a count, or the array of a distribution's values.
fn write_metric_values(doc: &[&Datum], out: &mut Vec<u8>) -> std::io::Result<()> {
    for datum in doc {
        out.push(b',');
        json_str(out, datum.metric.name)?;
        out.push(b':');
        match &datum.data {
            Data::Count(n) => write!(out, "{n}")?,
            Data::Values(values) => {
                out.push(b'[');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    // Whole milliseconds and seconds to the millisecond: enough for any
                    // dashboard, and shorter lines.
                    write!(out, "{}", (v * 1000.0).round() / 1000.0)?;
                }
                out.push(b']');
            }
        }
    }
    Ok(())
}
