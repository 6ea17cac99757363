"""Strings of the step-by-step lessons (English and Simplified Chinese)."""

LEARN_STRINGS: dict[str, dict[str, str]] = {
    "nav.learn": {"en": "Learn step by step", "zh": "分步学习"},
    "learn.self.page": {"en": "1 · Self-attention", "zh": "1 · 自注意力"},
    "learn.multi.page": {"en": "2 · Multi-head attention", "zh": "2 · 多头注意力"},
    "learn.cross.page": {"en": "3 · Cross-attention", "zh": "3 · 交叉注意力"},
    "learn.causal.page": {"en": "4 · Causal attention", "zh": "4 · 因果注意力"},
    "learn.derive.page": {"en": "5 · Derivation on a real model", "zh": "5 · 真实模型上的推导"},
    "learn.play.page": {"en": "Playground: edit the embeddings", "zh": "练习场：编辑词向量"},
    "learn.text": {"en": "Sentence", "zh": "句子"},
    "learn.target": {"en": "Translation (target)", "zh": "译文（目标）"},
    "learn.query_token": {"en": "Follow this token", "zh": "跟踪这个词元"},
    "learn.layer_head": {"en": "Layer {layer}, head {head}", "zh": "第 {layer} 层，第 {head} 个头"},
    # 1 self-attention
    "learn.self.title": {"en": "Self-attention, one step at a time", "zh": "一步一步理解自注意力"},
    "learn.self.intro": {
        "en": "Every token asks a question (its **query** q), offers a description of itself (its **key** k) "
              "and carries content (its **value** v). A token compares its query with every key by a dot "
              "product, turns the scores into weights with a softmax, and takes the weighted sum of the "
              "values as its new, context-aware vector. The numbers below are those of the real pretrained "
              "model all-MiniLM-L6-v2.",
        "zh": "每个词元都会提出一个问题（**查询** q），给出对自己的描述（**键** k），并携带内容（**值** v）。"
              "一个词元用点积把自己的查询与所有键比较，经 softmax 把分数变成权重，再对所有值做加权求和，"
              "得到新的、融合了上下文的向量。下面的数字都来自真实的预训练模型 all-MiniLM-L6-v2。"},
    "learn.self.head_found": {
        "en": "Of all {n} heads, **layer {layer}, head {head}** links “{query}” to “{key}” most strongly "
              "(weight {weight:.2f} among the words). We follow that head.",
        "zh": "在全部 {n} 个头中，**第 {layer} 层第 {head} 个头**把“{query}”与“{key}”联系得最紧密"
              "（在词之间的权重为 {weight:.2f}）。下面跟踪这个头。"},
    "learn.self.step1": {"en": "Step 1 · Score: the query of “{token}” against every key",
                         "zh": "第 1 步 · 打分：“{token}”的查询与每个键做点积"},
    "learn.self.step1.text": {
        "en": "score(i, j) = q_i · k_j / √d_k with d_k = {d}. A large score means the key answers the query well.",
        "zh": "score(i, j) = q_i · k_j / √d_k，其中 d_k = {d}。分数越大，说明这个键越能回答该查询。"},
    "learn.self.step2": {"en": "Step 2 · Softmax: scores become weights that sum to 1",
                         "zh": "第 2 步 · Softmax：分数变成和为 1 的权重"},
    "learn.self.step2.text": {
        "en": "weight(i, j) = exp(score(i, j)) / Σ_j' exp(score(i, j')). Differences in score become ratios "
              "of weight, so the best-matching keys take most of it.",
        "zh": "weight(i, j) = exp(score(i, j)) / Σ_j' exp(score(i, j'))。分数的差变成权重的比，"
              "最匹配的键拿走大部分权重。"},
    "learn.self.step3": {"en": "Step 3 · Weighted sum of values: the new vector of “{token}”",
                         "zh": "第 3 步 · 对值加权求和：“{token}”的新向量"},
    "learn.self.step3.text": {
        "en": "output_i = Σ_j weight(i, j) · v_j. The biggest contributions (first 8 of {d} dimensions):",
        "zh": "output_i = Σ_j weight(i, j) · v_j。贡献最大的几项（{d} 维中的前 8 维）："},
    "learn.self.map": {"en": "The whole map: every token does the same at once",
                       "zh": "完整的注意力图：所有词元同时做同样的计算"},
    "learn.self.contribution": {"en": "weight × value", "zh": "权重 × 值"},
    "learn.self.sum": {"en": "sum = new vector", "zh": "求和 = 新向量"},
    # 2 multi-head
    "learn.multi.title": {"en": "Multi-head attention", "zh": "多头注意力"},
    "learn.multi.intro": {
        "en": "Instead of one attention over all d_model dimensions, the model runs several smaller ones in "
              "parallel. W_q, W_k and W_v project each token into n_heads separate subspaces of "
              "d_model / n_heads dimensions; each head computes its own map there, so different heads can "
              "look for different things. Their outputs are concatenated back to d_model and mixed by W_o.",
        "zh": "模型不是在全部 d_model 维上只做一次注意力，而是并行地做多个更小的注意力。W_q、W_k、W_v 把每个"
              "词元投影到 n_heads 个互相独立、各 d_model / n_heads 维的子空间；每个头在自己的子空间里计算"
              "自己的注意力图，因此不同的头可以关注不同的东西。各头的输出拼接回 d_model 维，再由 W_o 混合。"},
    "learn.multi.split": {"en": "How d_model is split", "zh": "d_model 如何被切分"},
    "learn.multi.d_model": {"en": "d_model", "zh": "d_model"},
    "learn.multi.heads": {"en": "heads", "zh": "头数"},
    "learn.multi.split_text": {"en": "{d_model} / {heads} heads = **{dim} dimensions per head**. Head h uses "
                                     "dimensions {dim}·h … {dim}·h + {last} of Q, K and V.",
                               "zh": "{d_model} / {heads} 个头 = **每个头 {dim} 维**。第 h 个头使用 Q、K、V 的第 "
                                     "{dim}·h … {dim}·h + {last} 维。"},
    "learn.multi.real": {"en": "In all-MiniLM-L6-v2: d_model {d_model} = {heads} heads × {dim} dims",
                         "zh": "在 all-MiniLM-L6-v2 中：d_model {d_model} = {heads} 个头 × {dim} 维"},
    "learn.multi.side": {"en": "Heads that attend differently, on the same sentence",
                         "zh": "同一句话上，关注方式不同的几个头"},
    "learn.multi.concat": {"en": "Concatenate the heads, then mix with W_o", "zh": "拼接各头，再用 W_o 混合"},
    "learn.multi.concat_text": {
        "en": "Each head returns an n × {dim} matrix; side by side they form n × {d_model} (lines mark the "
              "heads). W_o ({d_model} × {d_model}) then lets every output dimension draw on every head.",
        "zh": "每个头输出一个 n × {dim} 的矩阵；并排拼接成 n × {d_model}（竖线分隔各头）。随后 W_o"
              "（{d_model} × {d_model}）让每个输出维度都能利用所有头的信息。"},
    # 3 cross
    "learn.cross.title": {"en": "Cross-attention: reading the source while writing the target",
                          "zh": "交叉注意力：边写目标句，边读源句"},
    "learn.cross.intro": {
        "en": "In an encoder-decoder the **queries** come from the decoder (the target being written) while "
              "the **keys and values** come from the encoder's output (the source). The weights therefore "
              "form a target × source matrix. Here: our toy English→Chinese translator, trained on a small "
              "grammar in which Chinese moves time and manner before the verb.",
        "zh": "在编码器-解码器中，**查询**来自解码器（正在写的目标句），**键和值**来自编码器的输出（源句）。"
              "因此权重构成一个“目标 × 源”的矩阵。这里用的是我们的玩具英译中模型，它在一个小语法上训练，"
              "该语法中中文会把时间和方式状语移到动词前面。"},
    "learn.cross.shapes": {"en": "Q: {m} target positions × {d}  ·  K, V: {n} source tokens × {d}  →  "
                                 "weights: {m} × {n}",
                           "zh": "Q：{m} 个目标位置 × {d}  ·  K、V：{n} 个源词元 × {d}  →  权重：{m} × {n}"},
    "learn.cross.row": {"en": "While writing “{token}”, the decoder reads:", "zh": "写出“{token}”时，解码器在读："},
    "learn.cross.reorder": {
        "en": "Notice the order: the alignment is not a diagonal, because Chinese puts time and manner "
              "before the verb — cross-attention has learned to look back to the right English word.",
        "zh": "注意顺序：对齐并不是一条对角线，因为中文把时间和方式放在动词前——交叉注意力学会了回头找到对应的英文词。"},
    # 4 causal
    "learn.causal.title": {"en": "Causal attention: no peeking at the future", "zh": "因果注意力：不能偷看未来"},
    "learn.causal.intro": {
        "en": "A decoder predicts the next token, so token i may only use tokens 0…i. Before the softmax, "
              "the scores above the diagonal are replaced by −∞. exp(−∞) = 0, so those weights vanish and "
              "each row is renormalised over the tokens it may see.",
        "zh": "解码器预测下一个词元，因此第 i 个词元只能使用第 0…i 个词元。在 softmax 之前，对角线以上的分数被"
              "替换为 −∞。由于 exp(−∞) = 0，这些权重消失，每一行只在它能看到的词元上重新归一化。"},
    "learn.causal.tiny": {"en": "A tiny example (4 tokens, random 3-d embeddings)",
                          "zh": "一个小例子（4 个词元，随机 3 维向量）"},
    "learn.causal.scores": {"en": "scaled scores QKᵀ/√d", "zh": "缩放后的分数 QKᵀ/√d"},
    "learn.causal.masked": {"en": "+ mask (−∞ above the diagonal)", "zh": "+ 掩码（对角线以上为 −∞）"},
    "learn.causal.softmax": {"en": "softmax per row", "zh": "逐行 softmax"},
    "learn.causal.generate": {"en": "Watch the matrix grow while the toy model writes",
                              "zh": "看着玩具模型逐词生成时矩阵如何增长"},
    "learn.causal.prompt": {"en": "Start of the sentence", "zh": "句子开头"},
    "learn.causal.full": {"en": "The model's whole greedy continuation: “{text}”. Move the slider to let it "
                                "write one token at a time.",
                          "zh": "模型完整的贪心续写：“{text}”。拖动滑块，让它一次写一个词元。"},
    "learn.causal.step": {"en": "Tokens so far", "zh": "目前的词元数"},
    "learn.causal.so_far": {"en": "Text so far: **{text}**", "zh": "目前的文本：**{text}**"},
    "learn.causal.stable": {
        "en": "Adding a token adds a row and a column, but earlier rows never change: recomputing the "
              "{k}-token prefix alone differs from the top-left of the full matrix by at most {diff:.1e}. "
              "This is why decoders can cache keys and values while generating.",
        "zh": "每加一个词元只会多出一行一列，之前的行永远不变：单独对前 {k} 个词元重新计算，与完整矩阵左上角的"
              "差异最多为 {diff:.1e}。这正是解码器生成时可以缓存键和值的原因。"},
    # 5 derivation
    "learn.derive.title": {"en": "The derivation, with the model's real numbers", "zh": "用模型的真实数字完整推导"},
    "learn.derive.intro": {
        "en": "Pick a layer and a head. Every matrix below is computed here, in numpy, from the model's own "
              "weights and the layer's real input — and at the end compared with what the model computed.",
        "zh": "选择一层和一个头。下面每个矩阵都是在这里用 numpy、根据模型自己的权重和该层真实的输入算出来的——"
              "最后再与模型自己的计算结果对比。"},
    "learn.derive.kind": {"en": "Attention", "zh": "注意力"},
    "learn.derive.unsupported": {"en": "This model's attention is not a plain Q/K/V projection; choose minilm "
                                       "or toy-translator.",
                                 "zh": "该模型的注意力不是简单的 Q/K/V 投影；请选择 minilm 或 toy-translator。"},
    "learn.derive.s0": {"en": "X: the layer's input, one row per token ({n} × {d})",
                        "zh": "X：该层的输入，每个词元一行（{n} × {d}）"},
    "learn.derive.s1": {"en": "W_q, W_k, W_v: this head's slices ({d} × {h})",
                        "zh": "W_q、W_k、W_v：这个头的切片（{d} × {h}）"},
    "learn.derive.s2": {"en": "Q = X W_q + b_q, K = X W_k + b_k, V = X W_v + b_v ({n} × {h})",
                        "zh": "Q = X W_q + b_q，K = X W_k + b_k，V = X W_v + b_v（{n} × {h}）"},
    "learn.derive.s3": {"en": "Scores Q Kᵀ, then scaled by 1/√{h} = {scale:.4f}",
                        "zh": "分数 Q Kᵀ，再乘以 1/√{h} = {scale:.4f}"},
    "learn.derive.s4": {"en": "Mask: −∞ where a query may not look", "zh": "掩码：查询不能看的位置设为 −∞"},
    "learn.derive.s4.none": {"en": "No mask here: {kind} sees every key.", "zh": "此处无掩码：{kind}可以看到所有键。"},
    "learn.derive.s5": {"en": "Softmax per row: the attention weights", "zh": "逐行 softmax：注意力权重"},
    "learn.derive.s6": {"en": "Weights · V: this head's output ({n} × {h})",
                        "zh": "权重 · V：这个头的输出（{n} × {h}）"},
    "learn.derive.s7": {"en": "Concatenate all {heads} heads ({n} × {d}; lines separate heads)",
                        "zh": "拼接全部 {heads} 个头（{n} × {d}；竖线分隔各头）"},
    "learn.derive.s8": {"en": "Output = concat · W_o + b_o ({n} × {d})", "zh": "输出 = 拼接 · W_o + b_o（{n} × {d}）"},
    "learn.derive.check": {
        "en": "Same numbers as the model: max |ours − model| is {w:.1e} for the weights, {c:.1e} for the "
              "concatenated heads and {o:.1e} for the output of W_o.",
        "zh": "与模型的数字一致：|我们的 − 模型的| 的最大值，权重为 {w:.1e}，拼接结果为 {c:.1e}，W_o 输出为 {o:.1e}。"},
    "learn.derive.mismatch": {"en": "Our numbers differ from the model's (max {o:.1e}).",
                              "zh": "我们的数字与模型不一致（最大差 {o:.1e}）。"},
    "learn.derive.download": {"en": "All matrices (NPZ)", "zh": "全部矩阵（NPZ）"},
    "learn.derive.no_projection": {
        "en": "This model's Q, K, V projections cannot be read off its attention module, so the derivation starts "
              "from Q, K and V as the attention function received them.",
        "zh": "无法从该模型的注意力模块读出 Q、K、V 投影矩阵，因此推导从注意力函数实际收到的 Q、K、V 开始。"},
    "learn.derive.rotary": {
        "en": "Rotary position embeddings: X W_q and X W_k are rotated by an angle that depends on each token's "
              "position before attention. The Q and K below are the rotated ones, exactly as the model used them.",
        "zh": "旋转位置编码：X W_q 和 X W_k 在注意力之前按每个词元的位置旋转一个角度。下面的 Q 和 K 是旋转后的，"
              "与模型实际使用的完全一致。"},
    "learn.derive.gqa": {
        "en": "Grouped-query attention: query head {head} shares key/value head {kv} with other query heads.",
        "zh": "分组查询注意力：查询头 {head} 与其他查询头共享键/值头 {kv}。"},
    # playground
    "learn.play.title": {"en": "Playground: attention on numbers you choose", "zh": "练习场：在你选择的数字上做注意力"},
    "learn.play.intro": {
        "en": "Edit the embedding matrix (one row per token) and watch every step update. Tokens with "
              "similar rows attend to each other.",
        "zh": "编辑词向量矩阵（每个词元一行），观察每一步如何更新。行向量相似的词元会互相关注。"},
    "learn.play.tokens": {"en": "Token names", "zh": "词元名称"},
    "learn.play.projections": {"en": "Use learned-style projections W_q, W_k, W_v (random, seeded)",
                               "zh": "使用投影矩阵 W_q、W_k、W_v（随机，固定种子）"},
    "learn.play.seed": {"en": "Seed", "zh": "随机种子"},
    "learn.play.scale": {"en": "Scale by 1/√d_k", "zh": "除以 √d_k 缩放"},
    "learn.play.causal": {"en": "Causal mask", "zh": "因果掩码"},
    "learn.play.embeddings": {"en": "Embeddings X", "zh": "词向量 X"},
    "learn.play.bad": {"en": "Every cell must be a number.", "zh": "每个格子都必须是数字。"},
}
