export { topkClasses, type ClassScore } from './classify';
