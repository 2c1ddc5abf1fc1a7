//! What may change in a `v1` contract, checked: a contract only grows. Every message and its
//! fields (number, name, label, type), every enum value and every method of a service, as the
//! last release had them, must still be there as they were; new fields, values, messages,
//! methods and services may be added. Anything else (a field removed, renumbered, renamed or
//! retyped; a method's types changed) breaks a client or a consumer built against the release,
//! and belongs in a `v2` package beside `v1`.
//!
//! The release's contracts are kept in `proto/contracts.lock`, one line per element, so a
//! review sees every change to them; `make contracts-lock` rewrites it from the current
//! contracts when a release is cut.

use std::collections::BTreeSet;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

/// The contracts of the last release.
pub const RELEASED: &str = include_str!("../contracts.lock");

/// Every element of the contracts in `set`, one line each.
pub fn lines(set: &FileDescriptorSet) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in &set.file {
        let package = file.package();
        for message in &file.message_type {
            message_lines(&format!("{package}.{}", message.name()), message, &mut out);
        }
        enum_lines(package, &file.enum_type, &mut out);
        for service in &file.service {
            let name = format!("{package}.{}", service.name());
            out.insert(format!("service {name}"));
            for m in &service.method {
                out.insert(format!(
                    "method {name}.{} {} -> {}{}{}",
                    m.name(),
                    m.input_type().trim_start_matches('.'),
                    m.output_type().trim_start_matches('.'),
                    if m.client_streaming() {
                        " client-streaming"
                    } else {
                        ""
                    },
                    if m.server_streaming() {
                        " server-streaming"
                    } else {
                        ""
                    },
                ));
            }
        }
    }
    out
}

fn message_lines(name: &str, message: &DescriptorProto, out: &mut BTreeSet<String>) {
    out.insert(format!("message {name}"));
    for f in &message.field {
        let label = match f.label() {
            Label::Repeated => "repeated",
            Label::Required => "required",
            Label::Optional if f.proto3_optional() => "optional",
            Label::Optional => "singular",
        };
        let ty = match f.r#type() {
            Type::Message | Type::Enum | Type::Group => {
                f.type_name().trim_start_matches('.').to_string()
            }
            other => other
                .as_str_name()
                .trim_start_matches("TYPE_")
                .to_lowercase(),
        };
        out.insert(format!(
            "field {name} {} {} {label} {ty}",
            f.number(),
            f.name()
        ));
    }
    for nested in &message.nested_type {
        message_lines(&format!("{name}.{}", nested.name()), nested, out);
    }
    enum_lines(name, &message.enum_type, out);
}

/// Each value of each of `enums`, declared in `scope` (a package or a message).
fn enum_lines(scope: &str, enums: &[EnumDescriptorProto], out: &mut BTreeSet<String>) {
    for e in enums {
        for v in &e.value {
            out.insert(format!(
                "enum {scope}.{} {} {}",
                e.name(),
                v.number(),
                v.name()
            ));
        }
    }
}

/// The current contracts (those this crate was built from), one line per element.
pub fn current() -> BTreeSet<String> {
    let set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
        .expect("the build's descriptor set decodes");
    lines(&set)
}

/// What `current` breaks of the `released` contracts: each released line no longer there.
pub fn breaking(released: &str, current: &BTreeSet<String>) -> Vec<String> {
    released
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !current.contains(*l))
        .map(str::to_string)
        .collect()
}

/// The lock file's text for `lines`.
pub fn lock_file(lines: &BTreeSet<String>) -> String {
    let mut out = String::from(
        "# The contracts of the last release: a v1 contract may only grow (proto/src/contracts.rs).\n\
         # `make contracts-lock` rewrites it when a release is cut; do not edit by hand.\n",
    );
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_keep_everything_the_last_release_had() {
        let current = current();
        if std::env::var_os("ALONGSIDE_UPDATE_CONTRACTS_LOCK").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts.lock");
            std::fs::write(path, lock_file(&current)).expect("contracts.lock written");
            return;
        }
        let broken = breaking(RELEASED, &current);
        assert!(
            broken.is_empty(),
            "a v1 contract may only grow; these are gone or changed since the release \
             (add a v2 instead):\n{}",
            broken.join("\n")
        );
        assert!(
            RELEASED.lines().count() > 500,
            "the lock holds the contracts"
        );
    }

    #[test]
    fn a_breaking_change_is_caught() {
        let mut set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
        let released = lock_file(&lines(&set));
        for file in &mut set.file {
            if file.package() == "alongside.feedback.v1" {
                for message in &mut file.message_type {
                    if message.name() == "FftResponse" {
                        // site becomes a number; team is removed.
                        for f in &mut message.field {
                            if f.name() == "site" {
                                f.set_type(Type::Int32);
                            }
                        }
                        message.field.retain(|f| f.name() != "team");
                    }
                }
                for e in &mut file.enum_type {
                    if e.name() == "FftAnswer" {
                        e.value.pop();
                    }
                }
                for service in &mut file.service {
                    service.method.retain(|m| m.name() != "SubmitFftResponses");
                }
            }
        }
        let broken = breaking(&released, &lines(&set));
        let has = |fragment: &str| broken.iter().any(|l| l.contains(fragment));
        assert!(has("FftResponse 7 site singular string"), "{broken:?}");
        assert!(has("FftResponse 10 team"), "{broken:?}");
        assert!(has("enum alongside.feedback.v1.FftAnswer"), "{broken:?}");
        assert!(has("FeedbackService.SubmitFftResponses"), "{broken:?}");
        assert_eq!(broken.len(), 4, "{broken:?}");
        // Growing is not breaking.
        let mut grown = lines(&set);
        grown.insert("field alongside.feedback.v1.FftResponse 99 new_field singular string".into());
        assert!(breaking(&lock_file(&lines(&set)), &grown).is_empty());
    }
}
