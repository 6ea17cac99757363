"""Every user-facing string, in English and Simplified Chinese. Keys are grouped by where they show."""

STRINGS: dict[str, dict[str, str]] = {
    # figures
    "axis.query": {"en": "Query (attending token)", "zh": "查询（发出注意力的词元）"},
    "axis.key": {"en": "Key (attended-to token)", "zh": "键（被关注的词元）"},
    "axis.target": {"en": "Target (queries from the decoder)", "zh": "目标（来自解码器的查询）"},
    "axis.source": {"en": "Source (keys and values from the encoder)", "zh": "源（来自编码器的键和值）"},
    "hover.weight": {"en": "weight", "zh": "权重"},
    "hover.masked": {"en": "masked: −∞ before softmax, so weight 0", "zh": "已遮蔽：softmax 前设为 −∞，权重为 0"},
    "kind.encoder": {"en": "self-attention", "zh": "自注意力"},
    "kind.decoder": {"en": "causal self-attention", "zh": "因果自注意力"},
    "kind.cross": {"en": "cross-attention", "zh": "交叉注意力"},
    "layer": {"en": "layer", "zh": "层"},
    "head": {"en": "head", "zh": "头"},
    "colorbar": {"en": "weight", "zh": "权重"},
}

STRINGS.update({
    # navigation and app chrome
    "app.title": {"en": "attnviz — see what attention does", "zh": "attnviz —— 看见注意力在做什么"},
    "nav.explore": {"en": "Explore a model", "zh": "探索模型"},
    "nav.learn": {"en": "Learn step by step", "zh": "分步学习"},
    "page.self": {"en": "Self-attention", "zh": "自注意力"},
    "page.heads": {"en": "All heads", "zh": "所有注意力头"},
    "page.causal": {"en": "Causal attention", "zh": "因果注意力"},
    "page.cross": {"en": "Cross-attention", "zh": "交叉注意力"},
    "language": {"en": "Language / 语言", "zh": "语言 / Language"},
    # sidebar controls
    "ctl.model": {"en": "Model", "zh": "模型"},
    "ctl.model.custom": {"en": "Other: hub id or local folder…", "zh": "其他：Hub ID 或本地文件夹…"},
    "ctl.model.custom_field": {"en": "Hub id or local folder", "zh": "Hub ID 或本地文件夹"},
    "ctl.model.custom_help": {"en": "e.g. bert-base-uncased, gpt2, t5-small or /path/to/model. Must already be on "
                                    "this machine (downloads are off); remote code is never run.",
                              "zh": "例如 bert-base-uncased、gpt2、t5-small 或 /path/to/model。模型须已在本机"
                                    "（不联网下载）；绝不运行远程代码。"},
    "ctl.text": {"en": "Text", "zh": "文本"},
    "ctl.target": {"en": "Target text (decoder side)", "zh": "目标文本（解码器端）"},
    "ctl.target_help": {"en": "Leave empty and the model writes its own translation.",
                        "zh": "留空则由模型自己生成译文。"},
    "ctl.layer": {"en": "Layer", "zh": "层"},
    "ctl.heads": {"en": "Heads", "zh": "注意力头"},
    "ctl.heads_help": {"en": "Click heads to switch them on or off.", "zh": "点击注意力头可开启或关闭。"},
    "ctl.mode": {"en": "Combine heads", "zh": "合并注意力头"},
    "mode.single": {"en": "one head", "zh": "单个头"},
    "mode.mean": {"en": "mean", "zh": "平均"},
    "mode.max": {"en": "max", "zh": "最大值"},
    "ctl.head": {"en": "Head", "zh": "头"},
    "ctl.display": {"en": "Display", "zh": "显示"},
    "ctl.hide_special": {"en": "Hide special tokens ([CLS], [SEP], </s> …)",
                         "zh": "隐藏特殊词元（[CLS]、[SEP]、</s> 等）"},
    "heads.pooled": {"en": "{n} tokens: each small map shows averages over blocks of {block} × {block} tokens. "
                           "The Self-attention page shows any single head in full.",
                     "zh": "共 {n} 个词元：每个小图显示 {block} × {block} 个词元块的平均值。"
                           "在“自注意力”页面可完整查看任意单个头。"},
    "ctl.merge": {"en": "Merge sub-words into words", "zh": "把子词合并为整词"},
    "ctl.renormalise": {"en": "Rescale rows to sum to 1 after hiding", "zh": "隐藏后把每行重新归一化为 1"},
    "ctl.colorscale": {"en": "Colour scale", "zh": "配色"},
    "ctl.values": {"en": "Write values in cells", "zh": "在格子里显示数值"},
    "values.auto": {"en": "auto", "zh": "自动"},
    "values.on": {"en": "on", "zh": "开"},
    "values.off": {"en": "off", "zh": "关"},
    "ctl.fixed_scale": {"en": "Fixed colour range 0–1", "zh": "固定颜色范围 0–1"},
    "ctl.kind": {"en": "Attention", "zh": "注意力类型"},
    "ctl.all_layers": {"en": "Show every layer", "zh": "显示所有层"},
    # messages
    "msg.loading": {"en": "Loading {model}…", "zh": "正在加载 {model}…"},
    "msg.running": {"en": "Running the model…", "zh": "正在运行模型…"},
    "msg.error": {"en": "{error}", "zh": "{error}"},
    "msg.needs_family": {"en": "This page needs a model with {what}. {model} is an {family} model.",
                         "zh": "此页面需要带有{what}的模型。{model} 是{family}模型。"},
    "msg.truncated": {"en": "The text was cut to {kept} of {total} tokens (the limit here is {limit}).",
                      "zh": "文本已截断：保留 {total} 个词元中的 {kept} 个（此处上限为 {limit}）。"},
    "msg.rows_sum": {"en": "With special tokens hidden, the visible weights of a row add up to {low:.0%}–{high:.0%}; "
                           "the rest goes to the hidden tokens. Tick “rescale rows” to renormalise.",
                     "zh": "隐藏特殊词元后，每行可见权重之和为 {low:.0%}–{high:.0%}，其余落在被隐藏的词元上。"
                           "勾选“重新归一化”可让每行和为 1。"},
    "msg.unknown_words": {"en": "Words this toy model does not know (shown as <unk>): {words}",
                          "zh": "玩具模型不认识的词（显示为 <unk>）：{words}"},
    "msg.known_words": {"en": "Words the toy model knows", "zh": "玩具模型认识的词"},
    "msg.generated": {"en": "No target given: the model wrote “{target}” itself (greedy decoding).",
                      "zh": "未提供目标文本：模型自己生成了“{target}”（贪心解码）。"},
    "msg.big": {"en": "{n} tokens: values are hidden and hovering is the way to read weights.",
                "zh": "共 {n} 个词元：格内数值已隐藏，请悬停查看权重。"},
    "family.encoder": {"en": "encoder-only", "zh": "仅编码器"},
    "family.decoder": {"en": "decoder-only", "zh": "仅解码器"},
    "family.encoder-decoder": {"en": "encoder-decoder", "zh": "编码器-解码器"},
    "shape.summary": {"en": "{family} · {layers} · {heads} heads{kv} · head dim {head_dim} · d_model {d_model}",
                      "zh": "{family} · {layers} · {heads} 个头{kv} · 每头维度 {head_dim} · d_model {d_model}"},
    "shape.path.output_attentions": {
        "en": "This model computes attention outside transformers' attention interface, so attnviz reads the "
              "weights its own eager attention returns (output_attentions=True). Every layer is computed even "
              "when one is shown.",
        "zh": "该模型在 transformers 的注意力接口之外计算注意力，因此 attnviz 读取其自身 eager 注意力返回的权重"
              "（output_attentions=True）。即使只显示一层，也会计算所有层。"},
    "shape.kv": {"en": " ({kv} KV heads shared)", "zh": "（共享 {kv} 个 KV 头）"},
    "shape.layers": {"en": "{n} {kind} layers", "zh": "{n} 层{kind}"},
    # export
    "export.title": {"en": "Export", "zh": "导出"},
    "export.image": {"en": "Image", "zh": "图片"},
    "export.data": {"en": "Data", "zh": "数据"},
    "export.unavailable": {"en": "Image export needs Chrome or Chromium on the server (apt-get install chromium). "
                                 "The camera icon in the chart toolbar still saves a PNG from your browser.",
                           "zh": "导出图片需要服务器上安装 Chrome 或 Chromium（apt-get install chromium）。"
                                 "图表工具栏中的相机图标仍可在浏览器中保存 PNG。"},
    "export.npz": {"en": "All layers (NPZ)", "zh": "全部层（NPZ）"},
    "export.json_all": {"en": "All layers (JSON)", "zh": "全部层（JSON）"},
    # explore pages
    "self.intro": {"en": "Each row is a token asking “whom should I look at?”; each column a token it can look at. "
                         "A row is the softmax of that token's query against every key, so it sums to 1.",
                   "zh": "每一行是一个在问“我该关注谁？”的词元，每一列是它可以关注的词元。"
                         "每行是该词元的查询向量与所有键做点积后的 softmax，因此和为 1。"},
    "self.links": {"en": "Strongest links in this map", "zh": "此图中最强的关联"},
    "self.profile": {"en": "What this head does", "zh": "这个头在做什么"},
    "heads.intro": {"en": "Every head of every layer at once. Heads specialise: some look at the previous token, some "
                          "at the separator, some spread out. Switch heads on and off in the sidebar.",
                    "zh": "一次查看所有层的所有注意力头。不同的头各有分工：有的看前一个词，有的看分隔符，"
                          "有的分散关注。可在侧边栏开关各个头。"},
    "heads.table": {"en": "What each head attends to", "zh": "每个头关注什么"},
    "pattern.previous": {"en": "previous token", "zh": "前一个词元"},
    "pattern.self": {"en": "itself", "zh": "自身"},
    "pattern.next": {"en": "next token", "zh": "后一个词元"},
    "pattern.first": {"en": "first token", "zh": "第一个词元"},
    "pattern.special": {"en": "special tokens", "zh": "特殊词元"},
    "pattern.broad": {"en": "spread out", "zh": "分散关注"},
    "pattern.focused": {"en": "specific words", "zh": "特定词"},
    "col.layer": {"en": "layer", "zh": "层"},
    "col.head": {"en": "head", "zh": "头"},
    "col.pattern": {"en": "mostly attends to", "zh": "主要关注"},
    "col.entropy": {"en": "entropy (bits)", "zh": "熵（比特）"},
    "col.previous": {"en": "→ previous", "zh": "→ 前一个"},
    "col.self": {"en": "→ self", "zh": "→ 自身"},
    "col.special": {"en": "→ specials", "zh": "→ 特殊词元"},
    "col.target": {"en": "target word", "zh": "目标词"},
    "col.source": {"en": "source word", "zh": "源词"},
    "col.top": {"en": "strongest link", "zh": "最强关联"},
    "causal.intro": {"en": "A decoder writes left to right, so a token may not look at tokens after it. Before the "
                           "row-wise softmax, every score above the diagonal is set to **−∞**; since e^(−∞) = 0, those "
                           "weights are exactly 0 and each row's remaining weights still sum to 1. Grey cells are "
                           "masked.",
                     "zh": "解码器从左到右生成，因此一个词元不能看到它之后的词元。在按行做 softmax 之前，对角线以上的"
                           "所有分数都被设为 **−∞**；因为 e^(−∞) = 0，这些权重恰好为 0，而每行剩余的权重之和仍为 1。"
                           "灰色格子即被遮蔽的位置。"},
    "causal.predictions": {"en": "What the model predicts after each prefix", "zh": "模型对每个前缀的下一个词的预测"},
    "causal.prefix": {"en": "after “{prefix}”", "zh": "在“{prefix}”之后"},
    "causal.check": {"en": "Check: the largest weight above the diagonal is {value:.1e}; rows sum to 1 ± {err:.0e}.",
                     "zh": "验证：对角线以上最大的权重为 {value:.1e}；每行之和为 1 ± {err:.0e}。"},
    "msg.bad_link": {"en": "Some settings in this link were not valid and were reset to defaults: {keys}.",
                     "zh": "此链接中的部分设置无效，已恢复为默认值：{keys}。"},
    "hub.download_needed": {"en": "{model} is not on this machine yet: {files} files, {size} to download.",
                            "zh": "本机还没有 {model}：需要下载 {files} 个文件，共 {size}。"},
    "hub.download": {"en": "Download ({size})", "zh": "下载（{size}）"},
    "hub.downloading": {"en": "Downloading {model} …", "zh": "正在下载 {model} …"},
    "hub.progress": {"en": "{done:.1f} of {total:.1f} MB", "zh": "已下载 {done:.1f} / {total:.1f} MB"},
    "causal.check_failed": {
        "en": "The causal mask did not hold here: the largest weight above the diagonal is {value:.1e} and rows "
              "sum to 1 ± {err:.1e}. This model does not mask the future the standard way.",
        "zh": "此处因果掩码不成立：对角线以上最大的权重为 {value:.1e}，每行之和为 1 ± {err:.1e}。"
              "该模型没有按标准方式遮蔽未来。"},
    "cross.intro": {"en": "In an encoder-decoder, the decoder's **queries** come from the target being written and the "
                          "**keys and values** from the encoded source. Each row shows which source words the decoder "
                          "reads while writing that target word: an alignment between the two sentences.",
                    "zh": "在编码器-解码器模型中，解码器的**查询**来自正在生成的目标句，**键和值**来自编码后的源句。"
                          "每一行显示解码器写出该目标词时在读哪些源词：这就是两句话之间的对齐。"},
    "cross.rows_output": {"en": "Label rows with the word each row writes", "zh": "行标签显示该行写出的词"},
    "cross.rows_help": {"en": "Row i reads the decoder input i and writes target word i; alignment reads best by the "
                              "word written.",
                        "zh": "第 i 行读取解码器输入 i 并写出目标词 i；按写出的词来读对齐最直观。"},
    "cross.best": {"en": "For each target word, the source word it attends to most:",
                   "zh": "对每个目标词，它最关注的源词："},
})
