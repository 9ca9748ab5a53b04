export { topkClasses, type ClassScore } from './classify';
export * from './coco/index';
export * from './pose/index';
export * from './detection/index';
