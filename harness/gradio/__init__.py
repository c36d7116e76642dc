"""How a Gradio chatbot looks from outside: its config and event graph, histories, the values the
frontend holds, what each chat action acts on, and the two ways of talking to it (gradio_client
sessions and endpoints, the queue protocol)."""
