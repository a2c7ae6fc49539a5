import { render } from 'preact';
import { createChatClient } from 'chat-api/sdk';
import { App } from './app.js';
import './styles.css';

// Same origin as the page: the server that serves this app serves the API at /graphql.
const chat = createChatClient({ url: '/graphql', storage: localStorage });

render(<App chat={chat} />, document.getElementById('app')!);
