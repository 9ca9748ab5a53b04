export { main, UserError } from './main';
