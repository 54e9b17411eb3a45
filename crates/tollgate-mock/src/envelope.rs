//! A single cheap pass over a request body that picks out only what the mock needs to
//! shape its answer, for every supported format at once: `model`, `stream`,
//! `stream_options.include_usage`, the first tool's name, whether the last turn is a
//! user turn (and not a tool result), and embedding inputs.
//!
//! Everything else is skipped by serde without building a `Value` tree, so a 40 MiB
//! prompt costs one scan.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The parts of a request body the mock looks at.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope<'a> {
    #[serde(borrow, default)]
    pub model: Option<Cow<'a, str>>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    /// OpenAI, Anthropic and Gemini tool lists.
    #[serde(borrow, default)]
    tools: Option<Vec<ToolDef<'a>>>,
    /// Bedrock Converse `toolConfig`.
    #[serde(borrow, default, rename = "toolConfig")]
    tool_config: Option<ToolConfig<'a>>,
    /// OpenAI, Anthropic and Bedrock conversation.
    #[serde(borrow, default)]
    messages: Option<Vec<Turn<'a>>>,
    /// Gemini conversation.
    #[serde(borrow, default)]
    contents: Option<Vec<Turn<'a>>>,
    /// OpenAI embeddings input.
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    /// OpenAI embeddings `dimensions`.
    #[serde(default)]
    pub dimensions: Option<usize>,
    /// OpenAI embeddings `encoding_format` (`float` or `base64`).
    #[serde(borrow, default)]
    pub encoding_format: Option<Cow<'a, str>>,
    /// Gemini `embedContent` content.
    #[serde(default)]
    pub content: Option<serde_json::Value>,
    /// Gemini `batchEmbedContents` requests.
    #[serde(default)]
    pub requests: Option<Vec<serde_json::Value>>,
    /// Gemini embeddings `outputDimensionality`.
    #[serde(default, rename = "outputDimensionality")]
    pub output_dimensionality: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// One entry of `tools`, whichever format it is in.
#[derive(Debug, Default, Deserialize)]
struct ToolDef<'a> {
    /// Anthropic: `{"name": ..., "input_schema": ...}`.
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    /// OpenAI: `{"type": "function", "function": {"name": ...}}`.
    #[serde(borrow, default)]
    function: Option<Named<'a>>,
    /// Gemini: `{"functionDeclarations": [{"name": ...}]}`.
    #[serde(borrow, default, rename = "functionDeclarations")]
    function_declarations: Option<Vec<Named<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
struct ToolConfig<'a> {
    #[serde(borrow, default)]
    tools: Option<Vec<BedrockTool<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
struct BedrockTool<'a> {
    #[serde(borrow, default, rename = "toolSpec")]
    tool_spec: Option<Named<'a>>,
}

/// One conversation turn: its role and whether it carries a tool result.
#[derive(Debug, Default, Deserialize)]
struct Turn<'a> {
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    /// OpenAI / Anthropic / Bedrock content (string or block list).
    #[serde(default)]
    content: Option<ContentProbe>,
    /// Gemini parts.
    #[serde(default)]
    parts: Option<ContentProbe>,
}

/// Whether a content value holds a tool result block, found without keeping the text.
#[derive(Debug, Default)]
struct ContentProbe {
    tool_result: bool,
}

/// One content block; only the markers of a tool result are read.
#[derive(Debug, Default, Deserialize)]
struct BlockProbe<'a> {
    /// Anthropic `{"type": "tool_result"}`.
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    /// Bedrock `{"toolResult": {...}}`.
    #[serde(default, rename = "toolResult")]
    tool_result: Option<IgnoredAny>,
    /// Gemini `{"functionResponse": {...}}`.
    #[serde(default, rename = "functionResponse")]
    function_response: Option<IgnoredAny>,
}

impl BlockProbe<'_> {
    fn is_tool_result(&self) -> bool {
        self.kind.as_deref() == Some("tool_result")
            || self.tool_result.is_some()
            || self.function_response.is_some()
    }
}

impl<'de> Deserialize<'de> for ContentProbe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentProbe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("message content")
            }
            fn visit_str<E>(self, _: &str) -> Result<ContentProbe, E> {
                Ok(ContentProbe::default())
            }
            fn visit_unit<E>(self) -> Result<ContentProbe, E> {
                Ok(ContentProbe::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentProbe, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ContentProbe::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContentProbe, A::Error> {
                let mut tool_result = false;
                while let Some(block) = seq.next_element::<BlockProbe<'de>>()? {
                    tool_result |= block.is_tool_result();
                }
                Ok(ContentProbe { tool_result })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> Envelope<'a> {
    /// Parses `body`; an empty body is an empty envelope.
    pub fn parse(body: &'a [u8]) -> Result<Envelope<'a>, serde_json::Error> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Envelope::default());
        }
        serde_json::from_slice(body)
    }

    /// `stream: true`.
    pub fn streaming(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// OpenAI `stream_options.include_usage: true`.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The name of the first declared tool, in whichever format the tools came.
    pub fn first_tool(&self) -> Option<&str> {
        let from_tools = self.tools.as_ref().and_then(|t| t.first()).and_then(|t| {
            t.function
                .as_ref()
                .and_then(|f| f.name.as_deref())
                .or(t.name.as_deref())
                .or_else(|| {
                    let decls = t.function_declarations.as_ref()?;
                    decls.first()?.name.as_deref()
                })
        });
        from_tools.or_else(|| {
            let tools = self.tool_config.as_ref()?.tools.as_ref()?;
            tools.first()?.tool_spec.as_ref()?.name.as_deref()
        })
    }

    /// The tool a Responses request gets called: the first declared one, when `input`
    /// is a string or its last item is a user message (not a function call output).
    pub fn responses_tool_to_call(&self) -> Option<&str> {
        let user_turn = match self.input.as_ref()? {
            serde_json::Value::String(_) => true,
            serde_json::Value::Array(items) => items
                .last()
                .is_some_and(|last| last.get("role").and_then(|r| r.as_str()) == Some("user")),
            _ => false,
        };
        if user_turn {
            self.first_tool()
        } else {
            None
        }
    }

    /// The tool to call: the first declared tool, when the last turn is the user's own
    /// words (not a tool result, which would loop an agent forever).
    pub fn tool_to_call(&self) -> Option<&str> {
        let turns = self.messages.as_ref().or(self.contents.as_ref())?;
        let last = turns.last()?;
        // Gemini may omit the role on user turns.
        let is_user = last.role.as_deref().is_none_or(|r| r == "user");
        let tool_result = last.content.as_ref().is_some_and(|c| c.tool_result)
            || last.parts.as_ref().is_some_and(|c| c.tool_result);
        if is_user && !tool_result {
            self.first_tool()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_tools_and_stream_options() {
        let body = br#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},
            "messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],
            "tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}]}"#;
        let env = Envelope::parse(body).unwrap();
        assert_eq!(env.model.as_deref(), Some("gpt-4o"));
        assert!(env.streaming() && env.include_usage());
        assert_eq!(env.tool_to_call(), Some("get_weather"));
    }

    #[test]
    fn tool_result_turns_get_text() {
        let openai = br#"{"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"c","content":"r"}],
            "tools":[{"type":"function","function":{"name":"f"}}]}"#;
        assert_eq!(Envelope::parse(openai).unwrap().tool_to_call(), None);
        let anthropic = br#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r"}]}],
            "tools":[{"name":"f","input_schema":{}}]}"#;
        assert_eq!(Envelope::parse(anthropic).unwrap().tool_to_call(), None);
        let bedrock = br#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[]}}]}],
            "toolConfig":{"tools":[{"toolSpec":{"name":"f"}}]}}"#;
        assert_eq!(Envelope::parse(bedrock).unwrap().tool_to_call(), None);
    }

    #[test]
    fn every_format_names_its_first_tool() {
        let anthropic = br#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],
            "tools":[{"name":"lookup","input_schema":{}}]}"#;
        assert_eq!(
            Envelope::parse(anthropic).unwrap().tool_to_call(),
            Some("lookup")
        );
        let gemini = br#"{"contents":[{"parts":[{"text":"hi"}]}],
            "tools":[{"functionDeclarations":[{"name":"find"}]}]}"#;
        assert_eq!(
            Envelope::parse(gemini).unwrap().tool_to_call(),
            Some("find")
        );
        let bedrock = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],
            "toolConfig":{"tools":[{"toolSpec":{"name":"spec"}}]}}"#;
        assert_eq!(
            Envelope::parse(bedrock).unwrap().tool_to_call(),
            Some("spec")
        );
    }

    #[test]
    fn no_tools_no_call_and_bad_json_errors() {
        let env = Envelope::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        assert_eq!(env.tool_to_call(), None);
        assert!(Envelope::parse(b"{not json").is_err());
        assert!(Envelope::parse(b"").unwrap().model.is_none());
    }
}
