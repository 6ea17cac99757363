"""Engine errors in the visitor's language, by error code (see attnviz.errors). Parameters fill the braces."""

ERROR_STRINGS: dict[str, dict[str, str]] = {
    "error.empty_text": {"en": "The text is empty: type a sentence.", "zh": "文本为空：请输入一个句子。"},
    "error.empty_prompt": {"en": "The prompt is empty: type the start of a sentence.",
                           "zh": "提示为空：请输入一个句子的开头。"},
    "error.no_tokens": {"en": "Nothing in the text is left after tokenizing: type some words.",
                        "zh": "分词后文本中没有剩下任何内容：请输入一些词。"},
    "error.needs_target": {"en": "This encoder-decoder needs a target text (or let the model generate one).",
                           "zh": "这个编码器-解码器需要目标文本（或让模型自己生成）。"},
    "error.not_a_decoder": {"en": "{model} is not a decoder-only language model.",
                            "zh": "{model} 不是仅解码器的语言模型。"},
    "error.no_such_kind": {"en": "This model has no {kind} attention.", "zh": "该模型没有{kind}注意力。"},
    "error.no_such_layer": {"en": "This model has {n_layers} {kind} layers; asked for {asked}.",
                            "zh": "该模型有 {n_layers} 个{kind}层；请求的是 {asked}。"},
    "error.no_such_head": {"en": "This model has no {kind} layer {layer} head {head}.",
                           "zh": "该模型没有第 {layer} 层第 {head} 个{kind}注意力头。"},
    "error.no_attention_weights": {
        "en": "{model} has no attention weights attnviz can read: it has no attention layers (a state-space or "
              "convolutional model), or its attention returns no weights.",
        "zh": "{model} 没有 attnviz 能读取的注意力权重：它没有注意力层（状态空间或卷积模型），"
              "或者其注意力不返回权重。"},
    "error.probe_failed": {"en": "The model could not run a short test input ({error}).",
                           "zh": "模型无法运行一段简短的测试输入（{error}）。"},
    "error.missing_layers": {"en": "No attention weights came out of {model} for some layers.",
                             "zh": "{model} 的部分层没有输出注意力权重。"},
    "error.no_vectors": {"en": "{model} computes attention outside transformers' attention interface, so its Q, K "
                               "and V cannot be recorded.",
                         "zh": "{model} 在 transformers 注意力接口之外计算注意力，因此无法记录其 Q、K、V。"},
    "error.no_interventions": {"en": "{model} computes attention outside transformers' attention interface, so "
                                     "attnviz cannot intervene on its heads.",
                               "zh": "{model} 在 transformers 注意力接口之外计算注意力，"
                                     "因此 attnviz 无法干预它的注意力头。"},
    "error.derivation_unsupported": {
        "en": "The step-by-step derivation needs Q, K, V from the attention interface and the output projection W_o; "
              "this model's {kind} attention does not offer both.",
        "zh": "分步推导需要来自注意力接口的 Q、K、V 以及输出投影 W_o；该模型的{kind}注意力无法同时提供。"},
    "error.capture_shape": {"en": "The model's {kind} attention in layer {layer} changed shape between calls; "
                                  "attnviz will not draw memory it did not write.",
                            "zh": "模型第 {layer} 层的{kind}注意力在两次调用之间改变了形状；"
                                  "attnviz 不会绘制未写入的内存。"},
    "error.empty_batch": {"en": "Give a list of one or more texts.", "zh": "请提供一个或多个文本组成的列表。"},
    "error.targets_mismatch": {"en": "Give one target per text.", "zh": "请为每个文本提供一个目标文本。"},
    "error.missing_kind": {"en": "The model returned no {kind} attention weights.",
                           "zh": "模型没有返回{kind}注意力权重。"},
    "error.bad_dtype": {"en": "Unknown dtype '{dtype}': use float32, bfloat16 or float16.",
                        "zh": "未知的数据类型“{dtype}”：请使用 float32、bfloat16 或 float16。"},
    "error.eager_no_weights": {"en": "{module} returned no attention weights from its eager path.",
                               "zh": "{module} 的 eager 路径没有返回注意力权重。"},
    "error.bad_matrix": {"en": "Every cell of X must be a number.", "zh": "X 的每个单元格都必须是数字。"},
    "error.no_model": {"en": "No model given: choose a built-in model or type a hub id or a local folder.",
                       "zh": "未指定模型：请选择内置模型，或输入 hub id 或本地文件夹。"},
    "error.builtin_missing": {"en": "The built-in model '{model}' has no files; reinstall attnviz.",
                              "zh": "内置模型“{model}”缺少文件；请重新安装 attnviz。"},
    "error.folders_refused": {"en": "This server does not open folders on its disk: choose a model from the list.",
                              "zh": "本服务器不打开其磁盘上的文件夹：请从列表中选择模型。"},
    "error.hub_refused": {"en": "This server offers only the models in its list.",
                          "zh": "本服务器只提供列表中的模型。"},
    "error.not_a_model_folder": {"en": "{message}", "zh": "该文件夹中没有 config.json，不是 transformers 模型文件夹。"},
    "error.no_folder": {"en": "{message}", "zh": "没有这个文件夹。"},
    "error.bad_name": {"en": "{message}",
                       "zh": "这个名字既不是内置模型，也不是本地文件夹或有效的 hub id"
                             "（例如 “bert-base-uncased” 或 “gpt2”）。"},
    "error.hub_gated": {"en": "{message}", "zh": "“{model}”在 hub 上需要授权：请先在 hub 上接受其条款并登录。"},
    "error.hub_not_found": {"en": "There is no model '{model}' on the Hugging Face hub.",
                            "zh": "Hugging Face hub 上没有模型“{model}”。"},
    "error.hub_offline": {"en": "{message}",
                          "zh": "“{model}”不在本地 Hugging Face 缓存中，且无法连接 hub（本机离线或已关闭下载）。"
                                "请先在联网的机器上下载一次，或指定本地文件夹。"},
    "error.hub_failed": {"en": "{message}", "zh": "无法从 hub 下载“{model}”（{error}）。"},
    "error.bad_settings": {"en": "{message}", "zh": "运营设置有误：{message}"},
    "error.windowed_attention": {
        "en": "{model} attends within local windows and returns [query, window] weights, which are not a token × token "
              "map attnviz can draw.",
        "zh": "{model} 只在局部窗口内计算注意力，返回的是 [查询, 窗口] 权重，不是 attnviz 能绘制的词元 × 词元矩阵。"},
    "error.forward_failed": {"en": "{model} failed while reading the text ({error}).",
                             "zh": "{model} 在读取文本时出错（{error}）。"},
    "error.model_load": {"en": "The model could not be loaded: {message}", "zh": "无法加载模型：{message}"},
    "error.input_text": {"en": "The text cannot be used: {message}", "zh": "无法使用该文本：{message}"},
    "error.error": {"en": "{message}", "zh": "出错了：{message}"},
}
